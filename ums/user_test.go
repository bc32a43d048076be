package ums

import (
	"slices"
	"testing"
)

// TestBase: a field's base is its store value unless an edit (or a write
// still waiting) holds the agreed value apart.
func TestBase(t *testing.T) {
	u := User{Extension: "2000", Mobile: "+491"}
	if u.BaseOf(FieldExtension) != "2000" || len(u.Base) != 0 {
		t.Fatalf("in step: base %q, entries %v", u.BaseOf(FieldExtension), u.Base)
	}
	u.Edit(FieldExtension, "2100")
	if u.Extension != "2100" || u.BaseOf(FieldExtension) != "2000" {
		t.Fatalf("after an edit: value %q base %q", u.Extension, u.BaseOf(FieldExtension))
	}
	u.Edit(FieldExtension, "2200") // edited again: still against the agreed value
	if u.BaseOf(FieldExtension) != "2000" {
		t.Fatalf("after a second edit: base %q", u.BaseOf(FieldExtension))
	}
	u.SetBase(FieldExtension, "2200") // the write landed
	if len(u.Base) != 0 || u.BaseOf(FieldExtension) != "2200" {
		t.Fatalf("after the write: entries %v", u.Base)
	}
	u.Edit(FieldMobile, "+491") // no change: nothing to hold apart
	if len(u.Base) != 0 {
		t.Fatalf("an edit to the same value left %v", u.Base)
	}
	u.Edit(FieldFaxNumbers, "+4930,+4940")
	if u.BaseOf(FieldFaxNumbers) != "" || len(u.FaxNumbers) != 2 {
		t.Fatalf("fax: base %q numbers %v", u.BaseOf(FieldFaxNumbers), u.FaxNumbers)
	}
	u.Edit(FieldFaxNumbers, "") // back to the agreed value
	if len(u.Base) != 0 {
		t.Fatalf("edited back: entries %v", u.Base)
	}
}

// TestGetSet: every writable field reads back what was set; the others
// cannot be set.
func TestGetSet(t *testing.T) {
	var u User
	for _, f := range Writable {
		v := "x-" + string(f)
		if f == FieldFaxNumbers {
			v = "+4930,+4940"
		}
		if err := u.Set(f, v); err != nil || u.Get(f) != v {
			t.Errorf("%s: set %q, got %q (%v)", f, v, u.Get(f), err)
		}
	}
	for _, f := range []Field{FieldDN, FieldSAMAccountName, FieldEnabled, "nope"} {
		if err := u.Set(f, "x"); err == nil {
			t.Errorf("%s could be set", f)
		}
	}
	if u.Enabled = true; u.Get(FieldEnabled) != "true" {
		t.Error("enabled does not read as true")
	}
}

// TestListText: a list's text form (Get, Set, the merge base, directory
// writes) reads back as the list; the empty text is no list.
func TestListText(t *testing.T) {
	for _, tt := range []struct {
		list []string
		text string
	}{
		{nil, ""},
		{[]string{"+49891"}, "+49891"},
		{[]string{"+49891", "+49892", "+49893"}, "+49891,+49892,+49893"},
	} {
		if got := JoinList(tt.list); got != tt.text {
			t.Errorf("JoinList(%q) = %q, want %q", tt.list, got, tt.text)
		}
		if got := SplitList(tt.text); !slices.Equal(got, tt.list) || (got == nil) != (tt.list == nil) {
			t.Errorf("SplitList(%q) = %#v, want %#v", tt.text, got, tt.list)
		}
		u := User{FaxNumbers: []string{"old"}}
		if err := u.Set(FieldFaxNumbers, tt.text); err != nil || !slices.Equal(u.FaxNumbers, tt.list) || u.Get(FieldFaxNumbers) != tt.text {
			t.Errorf("Set(fax_numbers, %q): %v, fax %#v, Get %q", tt.text, err, u.FaxNumbers, u.Get(FieldFaxNumbers))
		}
	}
}
