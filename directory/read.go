package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"

	"github.com/umsync/umsync/ums"
)

// ErrServerChanged is returned when the connections of one read reached
// different domain controllers (a load-balanced name): uSNChanged is per DC,
// so ranges and the catch-up would not line up and users could be missed.
var ErrServerChanged = errors.New("the directory server changed during the read (uSNChanged is per domain controller): point directory.url at one DC")

// ServerState is what the rootDSE says about the DC and its change counter.
type ServerState struct {
	// ServiceName is the DC's dsServiceName (its NTDS Settings DN).
	ServiceName string
	// InvocationID is the invocationId of the DC's database; it changes when
	// the database is restored, and with it the meaning of every USN.
	InvocationID string
	// HighestUSN is highestCommittedUSN: every change so far has a
	// uSNChanged at or below it.
	HighestUSN int64
	// NamingContexts are the partitions the DC holds.
	NamingContexts []string
}

func readServerState(conn *ldap.Conn) (ServerState, error) {
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"dsServiceName", "highestCommittedUSN", "namingContexts"}, nil))
	if err != nil {
		return ServerState{}, fmt.Errorf("read rootDSE: %w", err)
	}
	if len(res.Entries) != 1 {
		return ServerState{}, fmt.Errorf("read rootDSE: %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	usn, err := strconv.ParseInt(e.GetAttributeValue("highestCommittedUSN"), 10, 64)
	if err != nil {
		return ServerState{}, fmt.Errorf("rootDSE highestCommittedUSN %q: not a number (is this Active Directory?)",
			e.GetAttributeValue("highestCommittedUSN"))
	}
	return ServerState{ServiceName: e.GetAttributeValue("dsServiceName"), HighestUSN: usn,
		NamingContexts: e.GetAttributeValues("namingContexts")}, nil
}

// State reads the DC's identity (dsServiceName and the invocationId of its
// NTDS Settings object) and its highestCommittedUSN. A cycle reads it before
// it searches; its HighestUSN becomes the next watermark.
func (c *Client) State(ctx context.Context) (ServerState, error) {
	var st ServerState
	err := c.do(ctx, func(conn *ldap.Conn, _ *bool) (err error) {
		if st, err = readServerState(conn); err != nil {
			return err
		}
		res, err := conn.Search(ldap.NewSearchRequest(st.ServiceName, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"invocationId"}, nil))
		if err != nil {
			return fmt.Errorf("read invocationId of %s: %w", st.ServiceName, err)
		}
		if len(res.Entries) == 1 {
			st.InvocationID, _ = DecodeGUID(res.Entries[0].GetRawAttributeValue("invocationId"))
		}
		return nil
	})
	return st, err
}

// Scope describes what a read covers: base DNs, user filter, the
// attributes requested and the change tracking. A watermark taken with another scope is not valid
// for a delta (a newly mapped attribute, say, needs a full read).
func (c *Client) Scope() string {
	h := sha256.New()
	for _, b := range c.cfg.BaseDNs {
		fmt.Fprintf(h, "base=%s\n", strings.ToLower(b))
	}
	fmt.Fprintf(h, "filter=%s\nattrs=%s\ntracking=%s\n", c.cfg.filter(), strings.Join(c.decoder.Attributes(), ","),
		c.cfg.ChangeTracking)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// readUnit is one search of a read: a base DN, a filter, and attributes
// wanted besides the decoder's.
type readUnit struct {
	base, filter string
	extra        []string
}

// partitionChars are spread over the connections of a parallel read by the
// last character of each user's sAMAccountName (matching is
// case-insensitive). The last partition is "none of the others", so users
// ending in anything else (ä, _, .) are read too, exactly once.
const partitionChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// units splits the read into one search per base DN and partition. With one
// connection the partition is everything. With n, partition i < n-1 holds
// the users whose name ends in a character of group i, the last one all the
// rest: disjoint and complete by construction, whatever the names are.
// (Ranges of uSNChanged were tried first and dropped: users created or
// touched in bulk share a narrow band of USNs, so equal ranges put nearly
// everyone into one of them, and every extra range search costs the DC a
// scan of its index; see directory/doc.go.)
func (c *Client) units() []readUnit {
	n := c.cfg.ReadConnections
	var out []readUnit
	for _, base := range c.cfg.BaseDNs {
		if n <= 1 {
			out = append(out, readUnit{base: base, filter: c.cfg.filter()})
			continue
		}
		groups := make([]string, n-1)
		var all string
		for i, ch := range partitionChars {
			if g := i % n; g < n-1 {
				term := fmt.Sprintf("(%s=*%c)", c.cfg.Attributes.SAMAccountName, ch)
				groups[g] += term
				all += term
			}
		}
		for _, g := range groups {
			out = append(out, readUnit{base: base, filter: fmt.Sprintf("(&%s(|%s))", c.cfg.filter(), g)})
		}
		out = append(out, readUnit{base: base, filter: fmt.Sprintf("(&%s(!(|%s)))", c.cfg.filter(), all)})
	}
	return out
}

// Users streams every user in scope to fn, one page of page_size entries at
// a time, never the whole directory at once. fn is never called
// concurrently. Entries that cannot be decoded (no objectGUID) are reported
// to skip and not passed on. Errors from fn abort the read and come back as
// they are.
//
// How: st is the DC's state read (State) before the read; its
// highestCommittedUSN is H. With
// read_connections > 1 each base DN is cut into partitions (see units) that
// are read in parallel over their own connections: the DC answers a page
// only after computing all of it, and decoding a page costs the client
// time, so one connection leaves the DC idle while the client decodes.
// Last, a catch-up search (uSNChanged > H) re-reads every user changed
// while the read ran (a renamed user may have left its partition): a user
// may therefore reach fn twice, and the later one is the newer. Every
// connection must reach the same DC (ErrServerChanged).
func (c *Client) Users(ctx context.Context, st ServerState, fn func(ums.User) error, skip func(dn string, err error)) (Position, error) {
	pos := Position{USN: st.HighestUSN}
	if c.cfg.ChangeTracking == TrackDirSync {
		// The cookie is taken before the read, so changes made during it
		// come again with the next delta (re-applying them is harmless).
		cookie, err := c.dirSyncCookie(ctx, st)
		if err != nil {
			return Position{}, err
		}
		pos.Cookie = cookie
	}
	var mu sync.Mutex
	deliver := c.deliverer(&mu, fn, skip)
	units := c.units()
	var err error
	if c.cfg.ReadConnections <= 1 {
		err = c.readSerial(ctx, units, st, deliver)
	} else {
		err = c.readParallel(ctx, units, st, deliver)
	}
	if err != nil {
		return Position{}, err
	}
	catchUp := make([]readUnit, 0, len(c.cfg.BaseDNs))
	for _, base := range c.cfg.BaseDNs {
		catchUp = append(catchUp, readUnit{base: base, filter: fmt.Sprintf("(&%s(uSNChanged>=%d))", c.cfg.filter(), st.HighestUSN+1)})
	}
	return pos, c.readSerial(ctx, catchUp, st, deliver)
}

// deliverer decodes an entry and hands it to fn under mu; undecodable
// entries go to skip.
func (c *Client) deliverer(mu *sync.Mutex, fn func(ums.User) error, skip func(dn string, err error)) func(*ldap.Entry) error {
	return func(e *ldap.Entry) error {
		u, err := c.decoder.Decode(e)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if skip != nil {
				skip(e.DN, err)
			}
			return nil
		}
		return fn(u)
	}
}

// readSerial reads units one after the other on the client's connection,
// redialling once if the server dropped it before anything was delivered.
func (c *Client) readSerial(ctx context.Context, units []readUnit, st ServerState, deliver func(*ldap.Entry) error) error {
	for _, u := range units {
		err := c.do(ctx, func(conn *ldap.Conn, delivered *bool) error {
			if err := c.onServer(st); err != nil {
				return err
			}
			return pagedSearch(ctx, conn, u.request(c), uint32(c.cfg.PageSize), func(e *ldap.Entry) error {
				*delivered = true
				return deliver(e)
			})
		})
		if err != nil {
			return fmt.Errorf("search %s: %w", u.base, err)
		}
	}
	return nil
}

// readParallel reads units over read_connections fresh connections; the
// first error cancels the others.
func (c *Client) readParallel(ctx context.Context, units []readUnit, st ServerState, deliver func(*ldap.Entry) error) error {
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range min(c.cfg.ReadConnections, len(units)) {
		g.Go(func() error {
			conn, _, err := c.dial(gctx)
			if err != nil {
				return fmt.Errorf("directory: %w", err)
			}
			defer conn.Close()
			stop := context.AfterFunc(gctx, func() { conn.Close() })
			defer stop()
			if err := sameServer(conn, st); err != nil {
				return fmt.Errorf("directory: %w", err)
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(units) {
					return nil
				}
				u := units[i]
				if err := pagedSearch(gctx, conn, u.request(c), uint32(c.cfg.PageSize), deliver); err != nil {
					if ctxErr := ctx.Err(); ctxErr != nil {
						err = ctxErr
					}
					return fmt.Errorf("search %s: directory: %w", u.base, err)
				}
			}
		})
	}
	err := g.Wait()
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil && !errors.Is(err, ctxErr) {
		// A cancel that hit a dial or a rootDSE read shows as a network error.
		err = fmt.Errorf("directory: %w (%v)", ctxErr, err)
	}
	return err
}

// sameServer fails with ErrServerChanged unless conn reaches the DC of st.
func sameServer(conn *ldap.Conn, st ServerState) error {
	now, err := readServerState(conn)
	if err != nil {
		return err
	}
	if now.ServiceName != st.ServiceName {
		return fmt.Errorf("%w (%q, then %q)", ErrServerChanged, st.ServiceName, now.ServiceName)
	}
	return nil
}

func (u readUnit) request(c *Client) *ldap.SearchRequest {
	return ldap.NewSearchRequest(u.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, u.filter, append(c.decoder.Attributes(), u.extra...), nil)
}

// UsersByAnchor reads the users with the given anchors that are in scope
// now (under a base DN, matching user_filter) and hands them to fn like
// Users does; it returns the anchors it found. An anchor not found is not
// in scope: deleted, moved out or filtered out.
func (c *Client) UsersByAnchor(ctx context.Context, st ServerState, anchors []string, fn func(ums.User) error,
	skip func(dn string, err error)) (map[string]bool, error) {
	deliver, found := c.scopedDeliverer(fn, skip)
	return found, c.readAnchors(ctx, st, anchors, deliver)
}

// readAnchors searches each base DN for the objects with the given
// anchors, guidBatch at a time, within user_filter.
func (c *Client) readAnchors(ctx context.Context, st ServerState, anchors []string, deliver func(*ldap.Entry) error) error {
	for len(anchors) > 0 {
		n := min(len(anchors), guidBatch)
		var or strings.Builder
		for _, a := range anchors[:n] {
			raw, err := EncodeGUID(a)
			if err != nil {
				continue
			}
			or.WriteString("(objectGUID=")
			for _, b := range raw {
				fmt.Fprintf(&or, "\\%02x", b)
			}
			or.WriteString(")")
		}
		anchors = anchors[n:]
		if or.Len() == 0 {
			continue
		}
		units := make([]readUnit, 0, len(c.cfg.BaseDNs))
		for _, base := range c.cfg.BaseDNs {
			units = append(units, readUnit{base: base, filter: "(&" + c.cfg.filter() + "(|" + or.String() + "))"})
		}
		if err := c.readSerial(ctx, units, st, deliver); err != nil {
			return err
		}
	}
	return nil
}
