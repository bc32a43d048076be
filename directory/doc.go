// Package directory is Active Directory over LDAP: it dials ldaps:// or
// StartTLS with verified TLS, binds, streams a paged search page by page
// (never the whole result in memory), redials a dropped connection, and
// decodes entries (objectGUID → anchor, userAccountControl → enabled, the
// attribute map → ums.User fields, numbers → E.164). It reads everyone
// (Users), what changed since a watermark (Changes: uSNChanged with
// tombstones, or DirSync), group memberships (scope group, phantoms) and
// values in use (UsedValues), and writes one field with the old value as
// precondition (WriteField). Every connection is pinned to the DC of the
// cycle's ServerState (checked once, when it is dialled), because USNs are
// per DC. With several URLs (redundant DCs) a dial takes the first that
// answers, and a switch is logged and counted. Preflight checks, without
// changing anything, what umsync needs of each DC (check-config --online).
//
// Mapping attributes to UMS fields happens here, at decode time, rather than
// in sync/plan as DESIGN.md's diagram draws it: the attribute names are a
// directory concern, and handing plan finished ums.User values keeps plan
// free of LDAP vocabulary. The mapping itself is pure (Decode) and table-tested.
//
// A full read runs over read_connections connections in parallel (Users):
// Samba, like AD, computes a whole page before it sends it, and go-ldap's
// BER decoding costs ~40 µs per entry, so with one connection the DC idles
// while the client decodes (measured: a Go read of 50,000 users 7.7-8.1 s
// against 5.8 s for ldapsearch). Each base DN is split by the last character
// of sAMAccountName — disjoint and complete whatever the names are, and
// balanced for numbered and real names alike. Ranges of uSNChanged were tried
// first and dropped: users created or changed in bulk share a narrow band of
// USNs, so equal ranges were badly skewed (10,000 seeded users fell into one
// of eight ranges), and each range search cost the DC an index scan
// (~50 ms). A catch-up search for uSNChanged above the rootDSE's
// highestCommittedUSN, read before the partitions, re-reads users changed
// (or renamed across partitions) during the read; without it a parallel read
// missed 11 of 12 users modified mid-read (TestChangesDuringTheReadAreCaught).
//
// Kept after measuring in a big domain (issue 15; 2026-12-02, 2 cores shared
// with five engineers' test suites, Samba 4.17 mdb): the 10,000 users of
// OU=Bench10000 in a domain of ~160,000 users, each variant a fresh process
// (BenchmarkFullRead, -test.benchtime 1x) interleaved with the others, 7 runs
// each, seconds min / median: paged ldapsearch 4.55 / 7.73; read_connections 2
// (this read) 4.96 / 8.47; one connection 7.80 / 12.04; one connection with
// one page of read-ahead (the next page asked for while this one is decoded,
// no extra search) 10.95 / 13.68; 4 connections were slower than 2 in a
// 110,000-user domain (11.6-16.3 s against 6.0-16.4 s). The DC was contended
// (single runs took up to 56 s), so only the minimums compare well; they put
// two connections within 1.09× of ldapsearch and one connection at 1.7×. The
// client is not what waits: a read of 10,000 users costs it 0.7-0.9 s CPU
// whatever the variant, so read-ahead had nothing to hide. What costs is the
// DC's side: in the big domain a search over (objectCategory=person) under a
// 500-user OU took 1-2 s (Samba takes its candidates from the domain-wide
// index and checks each against the scope), yet the second partition's
// search runs on another DC worker and still wins.
// Page sizes above 1,000 were not kept: 5,000 raised the client's peak RSS
// from ~32 MB to 79-93 MB without a faster read, and AD's MaxPageSize is 1,000.
// The default is 500 (2026-12-02, OU of 50,000, 2 cores, `umsync sync
// --full`, three runs each, interleaved): go-ldap's Search holds a whole
// page of entries and their raw packets per connection, about 7 MB of the
// live heap at 1,000. Nightly sync 1,000: 11.2-12.6 s, 51-52 MB peak RSS;
// 500: 11.5-11.9 s, 45-47 MB. First sync into an empty store 1,000:
// 14-16 s, 60-67 MB; 500: 15-18 s, 56-58 MB. 250 saved 1-2 MB more for more
// CPU. (Streaming the entries with SearchAsync would hold none, but
// go-ldap's reader drops a packet that waits longer than the connection's
// timeout for a slow consumer: a user silently missing from a full read.)
//
// CheckDN is the DN syntax check of the other packages (the config's
// profile groups, the export file's dn): go-ldap is imported here only.
//
// It knows nothing about SQLite or mail.
package directory
