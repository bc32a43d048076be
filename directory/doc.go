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
// It knows nothing about SQLite or mail.
package directory
