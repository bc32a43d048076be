package directory

import (
	"context"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// CheckPassword says whether the directory accepts password for the user
// dn: a simple bind as that user on a connection of its own, over the same
// URL and verified TLS as the sync's, closed at once. The password is
// neither kept nor logged. AD refuses a disabled, expired or locked-out
// account's bind with invalidCredentials, so it never passes. An empty
// password never passes (LDAP would take it as an anonymous bind).
func (c *Client) CheckPassword(ctx context.Context, dn, password string) (bool, error) {
	if dn == "" || password == "" {
		return false, nil
	}
	conn, err := c.open(ctx)
	if err != nil {
		return false, fmt.Errorf("directory: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err = conn.Bind(dn, password)
	switch {
	case err == nil:
		return true, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return false, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	}
	return false, fmt.Errorf("directory: bind as the user: %w", err)
}
