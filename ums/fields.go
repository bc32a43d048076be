package ums

import (
	"fmt"
	"reflect"
	"time"
)

// UserField is one field of a User as every format carries it: the store
// (a column), the export file (a JSON key and a CSV column, read back by
// import) and UserView (the JSON of `users list|show` and of the API).
// Each of those formats is written and read by walking UserFields, so a
// new field is one row there.
type UserField struct {
	// Name is the field's key everywhere an admin sees it: UserView's JSON
	// key, the export file's JSON key and CSV column.
	Name Field
	// Column is the store's column (store.users).
	Column string
	Kind   Kind
	Flags  Flags
	// Default is what an empty value stands for: the store writes it for an
	// empty text, UserView shows it, import reads an empty cell as it (so
	// enabled is "true"); "" for none.
	Default string
	// ptr points at the field in a User: *string for Text and Object,
	// *[]string for List, *bool for Bool, *time.Time for Time.
	ptr func(*User) any
}

// Kind is how a field's value is held, and so how each format writes it.
type Kind int

const (
	// Text is a string (State and LicenseState are strings too).
	Text Kind = iota
	// List is a []string (numbers, in directory order); nil and empty are
	// the same. The store holds a JSON array, UserView and the export's JSON
	// an array; the export's CSV joins it with ";" in one cell, and Get
	// (one field's value as text) with "," (JoinList; see doc.go).
	List
	// Bool is true or false.
	Bool
	// Time is a time.Time, zero for none; the store and the export file keep
	// milliseconds, UserView shows seconds (RFC 3339).
	Time
	// Object is a string holding a JSON object of strings (Overrides.Encode,
	// "" for none): text in the store and the export's CSV, an object in
	// UserView and the export's JSON ({} for none; import also reads the
	// text as a JSON string, as exports before the objects wrote it).
	Object
)

// Flags say where a field goes besides the store, which holds every field.
type Flags uint8

const (
	// Directory fields are mastered by the directory: listed in Fields,
	// compared by Diff, merged by the sync.
	Directory Flags = 1 << iota
	// WriteBack fields can be written to the directory (listed in Writable,
	// settable with Set); only Directory fields can.
	WriteBack
	// Exported fields are in the export file and read back by import.
	Exported
	// Viewed fields are in UserView.
	Viewed
	// Optional fields are absent when empty: left out of UserView, NULL in
	// the store (a Time), not required by import.
	Optional
)

// Has reports whether f has every flag of want.
func (f UserField) Has(want Flags) bool { return f.Flags&want == want }

// Ptr points at f in u: *string (Text, Object), *[]string (List), *bool
// (Bool) or *time.Time (Time).
func (f UserField) Ptr(u *User) any { return f.ptr(u) }

// UserFields is the one table of a User's fields, in the order the export
// file and UserView write them. The store's own columns (the merge base,
// the row version, the profile it indexes) are not in it: they are no
// field of a user's data.
var UserFields = []UserField{
	{"anchor", "anchor", Text, Exported | Viewed, "", func(u *User) any { return &u.Anchor }},
	{FieldSAMAccountName, "sam_account_name", Text, Directory | Exported | Viewed, "", func(u *User) any { return &u.SAMAccountName }},
	{FieldDN, "dn", Text, Directory | Exported | Viewed, "", func(u *User) any { return &u.DN }},
	{FieldGivenName, "given_name", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.GivenName }},
	{FieldSurname, "surname", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Surname }},
	{FieldDisplayName, "display_name", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.DisplayName }},
	{FieldMail, "mail", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Mail }},
	{FieldDepartment, "department", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Department }},
	{FieldExtension, "extension", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Extension }},
	{FieldPhone, "phone", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Phone }},
	{FieldMobile, "mobile", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Mobile }},
	{FieldFaxNumbers, "fax_numbers", List, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.FaxNumbers }},
	{FieldAliasNumbers, "alias_numbers", List, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.AliasNumbers }},
	{FieldSettings, "settings", Text, Directory | WriteBack | Exported | Viewed, "", func(u *User) any { return &u.Settings }},
	{"overrides", "overrides", Object, Exported | Viewed, "", func(u *User) any { return &u.Overrides }},
	{FieldEnabled, "enabled", Bool, Directory | Exported | Viewed, "true", func(u *User) any { return &u.Enabled }},
	{"state", "state", Text, Exported | Viewed, "", func(u *User) any { return (*string)(&u.State) }},
	{"deactivation_reason", "deactivation_reason", Text, Exported | Viewed | Optional, "", func(u *User) any { return &u.DeactivationReason }},
	{"license", "license", Text, Exported | Viewed, string(LicenseNone), func(u *User) any { return (*string)(&u.License) }},
	{"license_since", "license_since", Time, Exported | Optional, "", func(u *User) any { return &u.LicenseSince }},
	{"phantom", "phantom", Bool, Exported, "", func(u *User) any { return &u.Phantom }},
	{"first_seen", "first_seen", Time, Exported | Viewed, "", func(u *User) any { return &u.FirstSeen }},
	{"updated_at", "updated_at", Time, Exported | Viewed, "", func(u *User) any { return &u.UpdatedAt }},
	{"deactivated_at", "deactivated_at", Time, Exported | Viewed | Optional, "", func(u *User) any { return &u.DeactivatedAt }},
}

// Fields lists every directory-mastered field, in table order.
var Fields = fieldNames(Directory)

// Writable lists the fields umsync can write to the directory (edited on
// both sides or mastered by the UMS); the other directory fields always
// come from it.
var Writable = fieldNames(WriteBack)

// byName finds a row of UserFields by its name.
var byName = func() map[Field]*UserField {
	if err := checkFields(UserFields); err != nil {
		panic("ums: " + err.Error())
	}
	m := make(map[Field]*UserField, len(UserFields))
	for i := range UserFields {
		m[UserFields[i].Name] = &UserFields[i]
	}
	return m
}()

// FieldByName returns the row of UserFields named name.
func FieldByName(name Field) (UserField, bool) {
	f, ok := byName[name]
	if !ok {
		return UserField{}, false
	}
	return *f, true
}

func fieldNames(want Flags) []Field {
	var out []Field
	for _, f := range UserFields {
		if f.Has(want) {
			out = append(out, f.Name)
		}
	}
	return out
}

// checkFields reports the first row of fields that no format could carry:
// a name or column missing or given twice, a pointer of the wrong type for
// its kind, a write-back field the directory does not master.
func checkFields(fields []UserField) error {
	names, columns := map[Field]bool{}, map[string]bool{}
	want := map[Kind]reflect.Type{
		Text: reflect.TypeFor[*string](), Object: reflect.TypeFor[*string](), List: reflect.TypeFor[*[]string](),
		Bool: reflect.TypeFor[*bool](), Time: reflect.TypeFor[*time.Time](),
	}
	for i, f := range fields {
		switch {
		case f.Name == "":
			return fmt.Errorf("field %d has no name", i)
		case f.Column == "":
			return fmt.Errorf("field %s has no store column", f.Name)
		case names[f.Name]:
			return fmt.Errorf("field %s is in the table twice", f.Name)
		case columns[f.Column]:
			return fmt.Errorf("field %s: column %s is another field's", f.Name, f.Column)
		case f.ptr == nil:
			return fmt.Errorf("field %s points at nothing", f.Name)
		case want[f.Kind] == nil || reflect.TypeOf(f.ptr(&User{})) != want[f.Kind]:
			return fmt.Errorf("field %s: kind %d does not fit a %T", f.Name, f.Kind, f.ptr(&User{}))
		case f.Has(WriteBack) && !f.Has(Directory):
			return fmt.Errorf("field %s is written back but not mastered by the directory", f.Name)
		}
		names[f.Name], columns[f.Column] = true, true
	}
	return nil
}
