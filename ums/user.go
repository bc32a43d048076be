package ums

import (
	"slices"
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
	// Enabled is the directory's view (userAccountControl without the
	// ACCOUNTDISABLE bit). A disabled user is deactivated in the UMS.
	Enabled bool

	State              State
	DeactivationReason string // why State is deactivated; empty when active
	FirstSeen          time.Time
	UpdatedAt          time.Time
	DeactivatedAt      time.Time // zero when active
}

// Field names one directory-mastered field of a User. The names are the
// snake_case keys of the CLI's JSON output and of the attribute map.
type Field string

// The directory-mastered fields, in the order they are reported.
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
	FieldEnabled        Field = "enabled"
)

// Fields lists every directory-mastered field in report order.
var Fields = []Field{
	FieldDN, FieldSAMAccountName, FieldGivenName, FieldSurname, FieldDisplayName,
	FieldMail, FieldDepartment, FieldExtension, FieldPhone, FieldMobile,
	FieldFaxNumbers, FieldEnabled,
}

// Get returns the value of field f as text (fax numbers comma-joined,
// enabled as true/false), for diffs, logs and dry-run output.
func (u *User) Get(f Field) string {
	switch f {
	case FieldDN:
		return u.DN
	case FieldSAMAccountName:
		return u.SAMAccountName
	case FieldGivenName:
		return u.GivenName
	case FieldSurname:
		return u.Surname
	case FieldDisplayName:
		return u.DisplayName
	case FieldMail:
		return u.Mail
	case FieldDepartment:
		return u.Department
	case FieldExtension:
		return u.Extension
	case FieldPhone:
		return u.Phone
	case FieldMobile:
		return u.Mobile
	case FieldFaxNumbers:
		return joinNumbers(u.FaxNumbers)
	case FieldEnabled:
		if u.Enabled {
			return "true"
		}
		return "false"
	}
	return ""
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
		if f == FieldFaxNumbers {
			if slices.Equal(u.FaxNumbers, next.FaxNumbers) {
				continue
			}
		} else if u.Get(f) == next.Get(f) {
			continue
		}
		out = append(out, Change{Field: f, Old: u.Get(f), New: next.Get(f)})
	}
	return out
}

func joinNumbers(nums []string) string { return strings.Join(nums, ",") }
