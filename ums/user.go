package ums

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is the lifecycle state of a user in the UMS.
type State string

const (
	// StateActive users are in scope and enabled in the directory.
	StateActive State = "active"
	// StateDeactivated users were disabled in, deleted from or moved out of
	// the directory's scope. They are kept, never deleted by a sync cycle.
	StateDeactivated State = "deactivated"
)

// Eligible reports whether u may hold a license seat and an extension:
// active, and not a phantom.
func (u *User) Eligible() bool { return u.State == StateActive && !u.Phantom }

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s == StateActive || s == StateDeactivated }

// User is one UMS user. Anchor (the directory's objectGUID in canonical
// string form) identifies it for its whole life; DN, sAMAccountName and mail
// may all change.
type User struct {
	Anchor         string
	DN             string
	SAMAccountName string
	GivenName      string
	Surname        string
	DisplayName    string
	Mail           string
	Department     string
	Extension      string   // internal number, digits only
	Phone          string   // E.164 where it is a number
	Mobile         string   // E.164, the SMS number
	FaxNumbers     []string // E.164, the UMS fax receive numbers, in directory order
	// AliasNumbers are further numbers a user is reached at (fax or SMS
	// aliases), E.164, in directory order.
	AliasNumbers []string
	// Settings are the user's UMS settings in their canonical encoding
	// (Settings.Encode); "" when the user has none.
	Settings string
	// Enabled is the directory's view (userAccountControl without the
	// ACCOUNTDISABLE bit). A disabled user is deactivated in the UMS.
	Enabled bool

	State              State
	DeactivationReason string // why State is deactivated; empty when active
	FirstSeen          time.Time
	UpdatedAt          time.Time
	DeactivatedAt      time.Time // zero when active

	// License is whether the user holds one of the UMS's seats; umsync
	// computes it (the license cap). LicenseSince is when the seat was
	// granted (zero unless active).
	License      LicenseState
	LicenseSince time.Time
	// Phantom users (sipXecs) keep their directory data but use neither a
	// license seat nor an extension.
	Phantom bool
	// Overrides are the user's own settings over its profile's defaults
	// (Overrides.Encode; "" for none). They live in the store only; the
	// directory gets the effective Settings.
	Overrides string

	// Version is the store's row version this user was read at (0: not
	// stored). The store bumps it on every write of the row; a cycle writes
	// the user only if the row is still at this version (no lost update).
	Version int64

	// Base holds the fields whose base — the last value the directory and
	// the store agreed on, for the three-way merge — differs from the
	// store's value: a change waiting to be written, or a conflict. Every
	// other field's base is its store value, so a user in step holds none.
	Base []FieldValue
}

// FieldValue is one field's value as text (see Get).
type FieldValue struct {
	Field Field
	Value string
}

// BaseOf returns f's base value.
func (u *User) BaseOf(f Field) string {
	for _, b := range u.Base {
		if b.Field == f {
			return b.Value
		}
	}
	return u.Get(f)
}

// SetBase records v as f's base; call it once f's store value is final.
func (u *User) SetBase(f Field, v string) {
	for i := range u.Base {
		if u.Base[i].Field == f {
			if v == u.Get(f) {
				u.Base = append(u.Base[:i:i], u.Base[i+1:]...)
			} else {
				u.Base[i].Value = v
			}
			return
		}
	}
	if v != u.Get(f) {
		u.Base = append(u.Base, FieldValue{f, v})
	}
}

// Edit sets f as an admin's change: the base stays what it was (so the
// merge sees the store side changed).
func (u *User) Edit(f Field, v string) error {
	base := u.BaseOf(f)
	if err := u.Set(f, v); err != nil {
		return err
	}
	u.SetBase(f, base)
	return nil
}

// Field names one field of a User (a row of UserFields). The names are
// the snake_case keys of the CLI's and the API's JSON, of the export file
// and of the attribute map.
type Field string

// The directory-mastered fields (see Fields).
const (
	FieldDN             Field = "dn"
	FieldSAMAccountName Field = "sam_account_name"
	FieldGivenName      Field = "given_name"
	FieldSurname        Field = "surname"
	FieldDisplayName    Field = "display_name"
	FieldMail           Field = "mail"
	FieldDepartment     Field = "department"
	FieldExtension      Field = "extension"
	FieldPhone          Field = "phone"
	FieldMobile         Field = "mobile"
	FieldFaxNumbers     Field = "fax_numbers"
	FieldAliasNumbers   Field = "alias_numbers"
	FieldSettings       Field = "settings"
	FieldEnabled        Field = "enabled"
)

// Get returns the value of field f as text (lists by JoinList, booleans
// true/false, times RFC 3339), for diffs, logs, the merge base and dry-run
// output; "" for an unknown field.
func (u *User) Get(f Field) string {
	row, ok := byName[f]
	if !ok {
		return ""
	}
	switch p := row.Ptr(u).(type) {
	case *string:
		return *p
	case *[]string:
		return JoinList(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Time:
		if p.IsZero() {
			return ""
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// Set sets a writable field from its text form (see Get; lists by
// SplitList). It does not validate: callers normalize first.
func (u *User) Set(f Field, v string) error {
	row, ok := byName[f]
	if !ok || !row.Has(WriteBack) {
		return fmt.Errorf("field %q cannot be set", f)
	}
	switch p := row.Ptr(u).(type) {
	case *string:
		*p = v
	case *[]string:
		*p = SplitList(v)
	default:
		return fmt.Errorf("field %q cannot be set from text", f)
	}
	return nil
}

// Change is one field whose value differs between two versions of a user.
type Change struct {
	Field Field
	Old   string
	New   string
}

// Diff lists the directory-mastered fields in which next differs from u.
func (u *User) Diff(next *User) []Change {
	var out []Change
	for _, f := range Fields {
		row := byName[f]
		if nums, ok := row.Ptr(u).(*[]string); ok {
			if slices.Equal(*nums, *row.Ptr(next).(*[]string)) {
				continue
			}
		} else if u.Get(f) == next.Get(f) {
			continue
		}
		out = append(out, Change{Field: f, Old: u.Get(f), New: next.Get(f)})
	}
	return out
}

// JoinList is a list's text form (Get): its values joined with ",". The
// records of one field's value as text carry a list so — the merge base,
// a FieldWrite, a FieldConflict, a Change, the audit trail — and `users
// set fax_numbers=a,b` takes it; see doc.go.
func JoinList(values []string) string { return strings.Join(values, ",") }

// SplitList reads JoinList's text back: nil for "".
func SplitList(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(text, ",")
}
