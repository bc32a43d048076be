package ums

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUserFieldsCoverUser: every field of a User is one row of UserFields
// (but the store's own: the merge base and the row version), so a new
// field that no format carries fails here.
func TestUserFieldsCoverUser(t *testing.T) {
	var u User
	rows := map[uintptr]Field{}
	for _, f := range UserFields {
		p := reflect.ValueOf(f.Ptr(&u)).Pointer()
		if other, ok := rows[p]; ok {
			t.Errorf("%s and %s point at the same field", other, f.Name)
		}
		rows[p] = f.Name
	}
	v := reflect.ValueOf(&u).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Base" || name == "Version" {
			continue
		}
		if _, ok := rows[v.Field(i).Addr().Pointer()]; !ok {
			t.Errorf("User.%s is in no row of UserFields: the store, the export file and the view would drop it", name)
		}
	}
	if len(rows) != v.NumField()-2 {
		t.Errorf("%d rows for %d fields", len(rows), v.NumField()-2)
	}
}

// TestCheckFields: a row no format could carry stops the program at start.
func TestCheckFields(t *testing.T) {
	if err := checkFields(UserFields); err != nil {
		t.Fatal(err)
	}
	text := func(u *User) any { return &u.Mail }
	for _, tt := range []struct {
		row  UserField
		want string
	}{
		{UserField{"x_probe", "", Text, Exported | Viewed, "", text}, "field x_probe has no store column"},
		{UserField{"", "x_probe", Text, Exported, "", text}, "has no name"},
		{UserField{"mail", "x_probe", Text, Exported, "", text}, "field mail is in the table twice"},
		{UserField{"x_probe", "mail", Text, Exported, "", text}, "column mail is another field's"},
		{UserField{"x_probe", "x_probe", List, Exported, "", text}, "kind 1 does not fit a *string"},
		{UserField{"x_probe", "x_probe", Text, WriteBack, "", text}, "written back but not mastered"},
		{UserField{"x_probe", "x_probe", Text, 0, "", nil}, "points at nothing"},
	} {
		err := checkFields(append(UserFields[:len(UserFields):len(UserFields)], tt.row))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.row, err, tt.want)
		}
	}
}

// TestFieldsFromTable: Fields and Writable are the table's flagged rows,
// and Get/Set use the rows.
func TestFieldsFromTable(t *testing.T) {
	for _, f := range []Field{FieldDN, FieldFaxNumbers, FieldSettings, FieldEnabled} {
		if !slices.Contains(Fields, f) {
			t.Errorf("Fields %v lack %s", Fields, f)
		}
	}
	for _, f := range []Field{"anchor", "state", "overrides"} {
		if slices.Contains(Fields, f) {
			t.Errorf("Fields %v hold %s, which the directory does not master", Fields, f)
		}
	}
	for _, f := range []Field{FieldDN, FieldSAMAccountName, FieldEnabled} {
		if slices.Contains(Writable, f) {
			t.Errorf("Writable %v hold %s, which only the directory writes", Writable, f)
		}
	}
	u := User{FaxNumbers: []string{"+4930", "+4940"}, Enabled: true, FirstSeen: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)}
	for f, want := range map[Field]string{FieldFaxNumbers: "+4930,+4940", FieldEnabled: "true",
		"first_seen": "2026-01-02T03:04:05.006Z", "license_since": "", "nope": ""} {
		if got := u.Get(f); got != want {
			t.Errorf("Get(%s) = %q, want %q", f, got, want)
		}
	}
}

// TestViewRoundTrip: UserView writes every Viewed field and reads it back
// (times to the second); an optional field that is empty is left out.
func TestViewRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	u := User{Anchor: "a", SAMAccountName: "amüller", DN: "CN=Änne,DC=x", GivenName: "Änne", Surname: "Müller",
		DisplayName: "Änne Müller", Mail: "a@x", Department: "Süd", Extension: "2001", Phone: "+49891",
		Mobile: "+49171", FaxNumbers: []string{"+49892", "+49893"}, AliasNumbers: []string{"+49894"},
		Settings: "ums1;prof=sales", Overrides: `{"rings":"8"}`, Enabled: true, State: StateDeactivated,
		DeactivationReason: "weg", License: LicensePending, FirstSeen: t0, UpdatedAt: t0.Add(time.Hour),
		DeactivatedAt: t0.Add(2 * time.Hour)}
	for _, f := range UserFields {
		if f.Has(Viewed) && reflect.ValueOf(f.Ptr(&u)).Elem().IsZero() {
			t.Fatalf("the test's user leaves %s empty", f.Name)
		}
	}
	b, err := json.Marshal(ViewOf(u).With("extra", 1))
	if err != nil {
		t.Fatal(err)
	}
	var back UserView
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, f := range UserFields {
		got, want := reflect.ValueOf(f.Ptr(&back.User)).Elem().Interface(), reflect.ValueOf(f.Ptr(&u)).Elem().Interface()
		if !f.Has(Viewed) {
			want = reflect.Zero(reflect.TypeOf(want)).Interface()
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", f.Name, got, want)
		}
	}
	if !strings.Contains(string(b), `"settings":"ums1;prof=sales","profile":"sales","license_type":"voice"`) ||
		!strings.HasSuffix(string(b), `"extra":1}`) {
		t.Errorf("view: %s", b)
	}
	b, _ = json.Marshal(ViewOf(User{State: StateActive}))
	if strings.Contains(string(b), "deactivat") || !strings.Contains(string(b), `"license":"none"`) ||
		!strings.Contains(string(b), `"fax_numbers":[]`) || !strings.Contains(string(b), `"overrides":{}`) {
		t.Errorf("empty view: %s", b)
	}
}
