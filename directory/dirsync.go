package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

// dirSyncFlags: none. Without LDAP_DIRSYNC_OBJECT_SECURITY the bind account
// needs the "Replicating Directory Changes" right on the naming context
// (README), and in return sees every change, deletions included.
const dirSyncFlags = 0

// guidBatch is how many changed users one follow-up search fetches.
const guidBatch = 100

// dirSyncNC is the one naming context DirSync reads: it works on whole
// naming contexts only, so the base DNs must all lie in one.
func (c *Client) dirSyncNC(st ServerState) (string, error) {
	ncs := c.namingContexts(st)
	if len(ncs) != 1 {
		return "", fmt.Errorf("directory: change_tracking dirsync needs every base DN in one naming context, got %v", ncs)
	}
	return ncs[0], nil
}

// dirSync runs DirSync rounds from cookie until the DC has no more data,
// streaming each changed user object to fn, and returns the last cookie.
func (c *Client) dirSync(ctx context.Context, st ServerState, cookie []byte, attrs []string,
	fn func(*ldap.Entry) error) ([]byte, error) {
	nc, err := c.dirSyncNC(st)
	if err != nil {
		return nil, err
	}
	for {
		var next []byte
		more := false
		err := c.do(ctx, func(conn *ldap.Conn, delivered *bool) error {
			if err := c.onServer(st); err != nil {
				return err
			}
			req := ldap.NewSearchRequest(nc, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=user)", attrs, nil)
			r := conn.DirSyncAsync(ctx, req, 64, dirSyncFlags, 0, cookie)
			for r.Next() {
				*delivered = true
				if e := r.Entry(); e != nil {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
			if err := r.Err(); err != nil {
				return err
			}
			ctrl, _ := ldap.FindControl(r.Controls(), ldap.ControlTypeDirSync).(*ldap.ControlDirSync)
			if ctrl == nil {
				return errors.New("the DC answered without a DirSync control (no DirSync support, or a missing right)")
			}
			next, more = ctrl.Cookie, ctrl.Flags != 0
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dirsync %s: %w", nc, err)
		}
		cookie = next
		if !more {
			return cookie, nil
		}
	}
}

// dirSyncCookie takes a cookie for "now": an initial DirSync that asks for
// objectGUID only and streams the answer away (an initial DirSync returns
// every object, in one response on Samba).
func (c *Client) dirSyncCookie(ctx context.Context, st ServerState) ([]byte, error) {
	return c.dirSync(ctx, st, nil, []string{"objectGUID"}, func(*ldap.Entry) error { return nil })
}

// dirSyncChanges reads the user objects DirSync reports after since.Cookie
// (with only their changed attributes), then fetches the ones in scope
// whole, by objectGUID, and reports the rest as gone.
func (c *Client) dirSyncChanges(ctx context.Context, st ServerState, since Position, fn func(ums.User) error,
	gone func(Gone) error, skip func(dn string, err error)) (Position, error) {
	if len(since.Cookie) == 0 {
		return Position{}, errors.New("directory: no DirSync cookie stored: run a full sync")
	}
	type changed struct {
		dn      string
		deleted bool
	}
	changes := map[string]changed{}
	var order []string
	// All attributes: DirSync reports an object only when one of the
	// requested attributes changed (asked for objectGUID and isDeleted
	// alone, Samba reported deletions and nothing else); a move or rename
	// shows as a change of name. Only changed values come back.
	cookie, err := c.dirSync(ctx, st, since.Cookie, nil, func(e *ldap.Entry) error {
		anchor, err := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
		if err != nil {
			return nil
		}
		if _, ok := changes[anchor]; !ok {
			order = append(order, anchor)
		}
		changes[anchor] = changed{e.DN, strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE")}
		return nil
	})
	if err != nil {
		return Position{}, err
	}
	deliver, inScope := c.scopedDeliverer(fn, skip)
	var live []string
	for _, a := range order {
		if !changes[a].deleted {
			live = append(live, a)
		}
	}
	if err := c.readAnchors(ctx, st, live, deliver); err != nil {
		return Position{}, err
	}
	for _, a := range order {
		if inScope[a] {
			continue
		}
		if err := gone(Gone{Anchor: a, DN: changes[a].dn, Deleted: changes[a].deleted}); err != nil {
			return Position{}, err
		}
	}
	return Position{USN: st.HighestUSN, Cookie: cookie}, nil
}
