package userfile

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// testRules are the numbers and extension rules of the tests.
var testRules = Rules{Numbers: ums.NumberPlan{CountryCode: "49"}, Limits: ums.Limits{ExtensionMin: 2, ExtensionMax: 6}}

func sample() []ums.User {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 123e6, time.UTC)
	return []ums.User{
		{Anchor: "0a0a0a0a-0000-4000-8000-000000000001", SAMAccountName: "amueller", DN: "CN=Änne Müller,OU=Staff,DC=example,DC=test",
			GivenName: "Änne", Surname: "Müller", DisplayName: "Änne \"Ann\" Müller, Vertrieb", Mail: "amueller@example.test",
			Department: "Vertrieb; Süd", Extension: "2001", Phone: "+49891234", Mobile: "+491715550001",
			FaxNumbers: []string{"+49895550001", "+49895550002"}, AliasNumbers: []string{"+49895550003"},
			Settings: "ums1;vm=phone_login;svc=fax,sms,voice;rings=8;prof=sales", Overrides: `{"rings":"8"}`,
			Enabled: true, State: ums.StateActive, License: ums.LicenseActive, LicenseSince: t0, FirstSeen: t0, UpdatedAt: t0},
		{Anchor: "0b0b0b0b-0000-4000-8000-000000000002", SAMAccountName: "bgross", DN: "CN=bgross,OU=Staff,DC=example,DC=test",
			State: ums.StateDeactivated, DeactivationReason: "disabled in directory", License: ums.LicenseNone,
			FirstSeen: t0, UpdatedAt: t0, DeactivatedAt: t0.Add(time.Hour), Phantom: true},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, format := range []string{JSON, CSV} {
		var first bytes.Buffer
		if err := Write(&first, format, sample()); err != nil {
			t.Fatal(err)
		}
		users, _, err := Read(bytes.NewReader(first.Bytes()), format, testRules)
		if err != nil {
			t.Fatalf("%s: Read: %v\n%s", format, err, first.String())
		}
		var second bytes.Buffer
		Write(&second, format, users)
		if first.String() != second.String() {
			t.Errorf("%s: export → import → export differs:\n%s\n---\n%s", format, first.String(), second.String())
		}
		for i := range users {
			want := sample()[i]
			for _, f := range ums.UserFields {
				got, want := reflect.ValueOf(f.Ptr(&users[i])).Elem().Interface(), reflect.ValueOf(f.Ptr(&want)).Elem().Interface()
				if !f.Has(ums.Exported) {
					want = reflect.Zero(reflect.TypeOf(want)).Interface()
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: user %d: %s = %v, want %v", format, i, f.Name, got, want)
				}
			}
		}
	}
	// The sample sets every field the file carries (in one user or the
	// other), so a field the file drops cannot pass.
	for _, f := range ums.UserFields {
		set := false
		for _, u := range sample() {
			set = set || !reflect.ValueOf(f.Ptr(&u)).Elem().IsZero()
		}
		if f.Has(ums.Exported) && !set {
			t.Errorf("the sample users leave %s empty", f.Name)
		}
	}
}

// TestReadNamesLineAndField: every bad value is listed with its line and
// field, and no user comes back.
func TestReadNamesLineAndField(t *testing.T) {
	var good bytes.Buffer
	Write(&good, CSV, sample())
	lines := strings.Split(good.String(), "\n")
	bad := strings.Replace(lines[2], "bgross", "", 1)                      // line 3: no sam_account_name
	bad = strings.Replace(bad, "deactivated,", "gone,", 1)                 // and an unknown state
	row2 := strings.Replace(lines[1], "+491715550001", "call me", 1)       // line 2: mobile
	row2 = strings.Replace(row2, "ums1;vm=phone_login", "ums1;vm=on", 1)   // and settings
	csvText := strings.Join([]string{lines[0], row2, bad, lines[1]}, "\n") // line 4: the same anchor again
	users, _, err := Read(strings.NewReader(csvText), CSV, testRules)
	if users != nil || err == nil {
		t.Fatalf("Read returned %d users, %v", len(users), err)
	}
	for _, want := range []string{
		`line 2: mobile: "call me" is not a phone number`,
		`line 2: settings: invalid UMS settings: vm="on"`,
		`line 3: sam_account_name: required`,
		`line 3: state: "gone": want active or deactivated`,
		`line 4: anchor: 0a0a0a0a-0000-4000-8000-000000000001 is also on line 2`,
		"6 error(s); nothing was imported",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}

	var js bytes.Buffer
	Write(&js, JSON, sample())
	text := strings.Replace(js.String(), `"first_seen": "2026-11-24T08:00:00.123Z"`, `"first_seen": "yesterday"`, 1)
	text = strings.Replace(text, `"phantom": true`, `"phantom": "yes"`, 1)
	text = strings.Replace(text, `"dn": "CN=bgross,OU=Staff,DC=example,DC=test"`, `"dn": "bgross"`, 1)
	_, _, err = Read(strings.NewReader(text), JSON, testRules)
	for _, want := range []string{`line 2: first_seen: "yesterday" is not a time`, `line 3: phantom: "yes": want true or false`,
		`line 3: dn: "bgross" is not a DN`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("JSON errors lack %q: %v", want, err)
		}
	}
	if _, _, err := Read(strings.NewReader("[\n{\"anchor\": \n"), JSON, testRules); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("broken JSON: %v", err)
	}
	if _, _, err := Read(strings.NewReader("anchor,colour\n"), CSV, testRules); err == nil || !strings.Contains(err.Error(), "line 1: colour: unknown column") {
		t.Errorf("unknown column: %v", err)
	}
}

// TestJSONLists: JSON holds a list as an array of strings and CSV joins
// it with ";" in one cell; import reads the arrays back, and still reads
// a JSON list given as one ";"-joined string (exports and backups written
// before the arrays). An array where a text goes, or of other than
// strings, is refused, and each number is checked as a cell is.
func TestJSONLists(t *testing.T) {
	var js, cs bytes.Buffer
	if err := Write(&js, JSON, sample()); err != nil {
		t.Fatal(err)
	}
	Write(&cs, CSV, sample())
	for _, want := range []string{`"fax_numbers": ["+49895550001","+49895550002"]`, `"alias_numbers": ["+49895550003"]`,
		`"fax_numbers": []`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON export lacks %s:\n%s", want, js.String())
		}
	}
	if !strings.Contains(cs.String(), ",'+49895550001;+49895550002,'+49895550003,") {
		t.Errorf("CSV export does not join the numbers with ';':\n%s", cs.String())
	}

	legacy := strings.Replace(js.String(), `["+49895550001","+49895550002"]`, `"+49895550001;+49895550002"`, 1)
	legacy = strings.Replace(legacy, `"alias_numbers": []`, `"alias_numbers": ""`, 1)
	if legacy == js.String() {
		t.Fatal("the test's replacements match nothing")
	}
	users, _, err := Read(strings.NewReader(legacy), JSON, testRules)
	if err != nil {
		t.Fatalf("a JSON list as a ';'-joined string: %v", err)
	}
	if want := sample(); !reflect.DeepEqual(users[0].FaxNumbers, want[0].FaxNumbers) || users[1].AliasNumbers != nil {
		t.Errorf("from ';'-joined strings: fax %v alias %v, want %v and none", users[0].FaxNumbers, users[1].AliasNumbers, want[0].FaxNumbers)
	}

	for _, tt := range []struct{ from, to, want string }{
		{`"surname": "Müller"`, `"surname": ["Müller"]`, `line 2: surname: want a string or true/false, got ["Müller"]`},
		{`"alias_numbers": ["+49895550003"]`, `"alias_numbers": ["+49895550003", 49895550004]`,
			`line 2: alias_numbers: want an array of strings, got ["+49895550003", 49895550004]`},
		{`"alias_numbers": ["+49895550003"]`, `"alias_numbers": {"a": "+49895550003"}`, `line 2: alias_numbers: want an array of strings, got {"a"`},
		{`"alias_numbers": ["+49895550003"]`, `"alias_numbers": ["+49895550003", "call me"]`, `line 2: alias_numbers: "call me" is not a phone number`},
		{`"alias_numbers": ["+49895550003"]`, `"alias_numbers": ["+4989555\n0003"]`, `line 2: alias_numbers: a control character or line break`},
	} {
		text := strings.Replace(js.String(), tt.from, tt.to, 1)
		if text == js.String() {
			t.Fatalf("%s matches nothing", tt.from)
		}
		users, _, err := Read(strings.NewReader(text), JSON, testRules)
		if users != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %d users, %v; want %q", tt.to, len(users), err, tt.want)
		}
	}
}

// TestJSONOverridesObject: JSON writes the overrides as an object of
// strings ({} for none) and reads it back; a file of earlier versions,
// with the object's JSON text in a string, reads as the same users. An
// object with a key twice, a value not a string, a control character or
// an unknown setting is refused.
func TestJSONOverridesObject(t *testing.T) {
	var js bytes.Buffer
	if err := Write(&js, JSON, sample()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"overrides": {"rings":"8"}`, `"overrides": {}`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON export lacks %s:\n%s", want, js.String())
		}
	}
	users, _, err := Read(bytes.NewReader(js.Bytes()), JSON, testRules)
	if err != nil {
		t.Fatal(err)
	}
	if want := sample(); users[0].Overrides != want[0].Overrides || users[1].Overrides != "" {
		t.Errorf("overrides read back: %q and %q, want %q and none", users[0].Overrides, users[1].Overrides, want[0].Overrides)
	}

	legacy := strings.Replace(js.String(), `"overrides": {"rings":"8"}`, `"overrides": "{\"rings\":\"8\"}"`, 1)
	legacy = strings.Replace(legacy, `"overrides": {}`, `"overrides": ""`, 1)
	if strings.Contains(legacy, `"overrides": {`) {
		t.Fatal("the test's replacements missed an object")
	}
	old, _, err := Read(strings.NewReader(legacy), JSON, testRules)
	if err != nil {
		t.Fatalf("overrides as a string: %v", err)
	}
	if !reflect.DeepEqual(old, users) {
		t.Errorf("overrides as a string read as %+v,\nas an object as %+v", old, users)
	}
	// Either form is read into the canonical text (Overrides.Encode).
	spaced := strings.Replace(js.String(), `"overrides": {"rings":"8"}`, `"overrides": { "rings" : " 8", "language": "de" }`, 1)
	if got, _, err := Read(strings.NewReader(spaced), JSON, testRules); err != nil || got[0].Overrides != `{"language":"de","rings":"8"}` {
		t.Errorf("spaced object: %v, %v", got, err)
	}

	for _, tt := range []struct{ to, want string }{
		{`{"rings":8}`, `line 2: overrides: want an object of strings, got {"rings":8}`},
		{`{"rings":"8","rings":"4"}`, `line 2: overrides: key "rings" given twice`},
		{`{"rings":"8\n"}`, `line 2: overrides: a control character or line break`},
		{`{"colour":"red"}`, `line 2: overrides: unknown setting "colour"`},
		{`["rings"]`, `line 2: overrides: want an object of strings (or its JSON text), got ["rings"]`},
		{`"{\"rings\":\"12\"}"`, `line 2: overrides: rings="12": want 2 to 10`},
	} {
		text := strings.Replace(js.String(), `{"rings":"8"}`, tt.to, 1)
		users, _, err := Read(strings.NewReader(text), JSON, testRules)
		if users != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %d users, %v; want %q", tt.to, len(users), err, tt.want)
		}
	}
	text := strings.Replace(js.String(), `"surname": "Müller"`, `"surname": {"a": "b"}`, 1)
	if _, _, err := Read(strings.NewReader(text), JSON, testRules); err == nil ||
		!strings.Contains(err.Error(), `line 2: surname: want a string or true/false, got {"a": "b"}`) {
		t.Errorf("an object where a text goes: %v", err)
	}
}
