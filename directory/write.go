package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

// ErrPrecondition rejects a write: the directory no longer holds the value
// the write was planned against. Nothing was changed; the next cycle reads
// the user again and plans anew.
var ErrPrecondition = errors.New("the directory value changed since the write was planned")

// PermanentError is a write the directory refuses for good (no rights, a
// constraint, the object is gone): retrying cannot help.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// LDAP result codes that reject a write's precondition, and those that no
// retry can fix.
var (
	preconditionCodes = []uint16{ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists}
	permanentCodes    = []uint16{ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultConstraintViolation,
		ldap.LDAPResultInvalidAttributeSyntax, ldap.LDAPResultObjectClassViolation, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultUndefinedAttributeType}
)

// WriteField changes field f of the user with anchor (its objectGUID) from
// old to new — both as umsync shows them (numbers in E.164). It reads the
// entry, checks that it still holds old, and sends one modify that deletes
// the exact values read and adds the new ones: if anyone changed them in
// between, the directory rejects the modify. Either way the result is
// ErrPrecondition, and nothing is overwritten.
func (c *Client) WriteField(ctx context.Context, anchor string, f ums.Field, old, new string) error {
	attrs := c.cfg.Attributes.Of(f)
	if len(attrs) == 0 || !slices.Contains(ums.Writable, f) {
		return &PermanentError{fmt.Errorf("directory: field %s has no attribute to write (directory.attributes)", f)}
	}
	if _, err := EncodeGUID(anchor); err != nil {
		return &PermanentError{fmt.Errorf("directory: %w", err)}
	}
	return c.do(ctx, func(conn *ldap.Conn, _ *bool) error {
		res, err := conn.Search(ldap.NewSearchRequest("<GUID="+anchor+">", ldap.ScopeBaseObject,
			ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", c.decoder.Attributes(), nil))
		if err != nil {
			return classify(fmt.Errorf("read %s: %w", anchor, err))
		}
		if len(res.Entries) != 1 {
			return &PermanentError{fmt.Errorf("user %s not found", anchor)}
		}
		e := res.Entries[0]
		u, err := c.decoder.Decode(e)
		if err != nil {
			return &PermanentError{err}
		}
		if cur := u.Get(f); cur != old {
			return fmt.Errorf("%w: %s of %s is %q, the write expected %q", ErrPrecondition, f, e.DN, cur, old)
		}
		m := ldap.NewModifyRequest(e.DN, nil)
		next := rawValues(f, attrs, new)
		for i, attr := range attrs {
			now := e.GetEqualFoldAttributeValues(attr)
			if slices.Equal(now, next[i]) {
				continue
			}
			if len(now) > 0 {
				m.Delete(attr, now)
			}
			if len(next[i]) > 0 {
				m.Add(attr, next[i])
			}
		}
		if len(m.Changes) == 0 {
			return nil
		}
		if err := conn.Modify(m); err != nil {
			return classify(fmt.Errorf("modify %s: %w", e.DN, err))
		}
		return nil
	})
}

// rawValues spreads a field's text value over its attributes: one value
// per attribute, and for a list of numbers (fax, alias) the first number
// to the first attribute, the rest to the last one.
func rawValues(f ums.Field, attrs []string, v string) [][]string {
	out := make([][]string, len(attrs))
	if v == "" {
		return out
	}
	if f != ums.FieldFaxNumbers && f != ums.FieldAliasNumbers {
		out[0] = []string{v}
		return out
	}
	for i, n := range ums.SplitList(v) {
		j := min(i, len(attrs)-1)
		out[j] = append(out[j], n)
	}
	return out
}

// classify maps an LDAP error to ErrPrecondition, a PermanentError, or
// leaves it (transient: retried).
func classify(err error) error {
	// An attribute the schema lacks (extensionAttribute10 without
	// Exchange's schema) comes back as noSuchAttribute too, but no retry
	// or re-read can fix it.
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) && strings.Contains(err.Error(), "schema") {
		return &PermanentError{fmt.Errorf("%w (is the attribute in the AD schema? directory.attributes)", err)}
	}
	for _, code := range preconditionCodes {
		if ldap.IsErrorWithCode(err, code) {
			return fmt.Errorf("%w: %v", ErrPrecondition, err)
		}
	}
	for _, code := range permanentCodes {
		if ldap.IsErrorWithCode(err, code) {
			return &PermanentError{err}
		}
	}
	return err
}
