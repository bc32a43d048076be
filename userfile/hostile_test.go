package userfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/umsync/umsync/ums"
)

// TestCSVFormulasNeutralized: cells a spreadsheet would run are written
// with a leading quote (OWASP CSV injection), a value that starts with a
// quote too, and export → import → export is byte-identical.
func TestCSVFormulasNeutralized(t *testing.T) {
	users := sample()[:1]
	u := &users[0]
	u.DisplayName = `=HYPERLINK("http://x","y")`
	u.Department = "'quoted"
	u.GivenName = "@SUM(A1)"
	u.Surname = "-2+3"
	u.DeactivationReason = "+cmd|' /C calc'!A0"
	var first bytes.Buffer
	if err := Write(&first, CSV, users); err != nil {
		t.Fatal(err)
	}
	row := strings.Split(first.String(), "\n")[1]
	for _, cell := range []string{`"'=HYPERLINK(""http://x"",""y"")"`, `,''quoted,`, `,'@SUM(A1),`, `,'-2+3,`,
		`,'+49891234,`, `,'+cmd|' /C calc'!A0,`} {
		if !strings.Contains(row, cell) {
			t.Errorf("the row lacks the neutralized cell %s:\n%s", cell, row)
		}
	}
	got, _, err := Read(bytes.NewReader(first.Bytes()), CSV, testRules)
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.DisplayName != u.DisplayName || g.Department != u.Department || g.GivenName != u.GivenName ||
		g.Surname != u.Surname || g.DeactivationReason != u.DeactivationReason || g.Phone != u.Phone {
		t.Errorf("restored %+v", g)
	}
	var second bytes.Buffer
	Write(&second, CSV, got)
	if second.String() != first.String() {
		t.Errorf("export → import → export differs:\n%s---\n%s", first.String(), second.String())
	}
	// JSON is no spreadsheet format: values are written as they are.
	var js bytes.Buffer
	Write(&js, JSON, users)
	if !strings.Contains(js.String(), `"display_name": "=HYPERLINK(\"http://x\",\"y\")"`) {
		t.Errorf("JSON:\n%s", js.String())
	}
}

// TestReadBOM: a byte order mark (Excel's UTF-8 CSV) is skipped, in CSV
// and JSON; it never becomes part of the first column's name.
func TestReadBOM(t *testing.T) {
	for _, format := range []string{CSV, JSON} {
		var b bytes.Buffer
		Write(&b, format, sample())
		users, lines, err := Read(strings.NewReader("\ufeff"+b.String()), format, testRules)
		if err != nil || len(users) != 2 || lines[0] != 2 {
			t.Errorf("%s with a BOM: %d users, lines %v, %v", format, len(users), lines, err)
		}
	}
}

// TestReadFileCap: a file over the cap is refused without reading it all.
func TestReadFileCap(t *testing.T) {
	defer func(n int) { maxFile = n }(maxFile)
	var b bytes.Buffer
	Write(&b, CSV, sample())
	size := b.Len()
	maxFile = size - 1
	if _, _, err := Read(&b, CSV, testRules); err == nil || !strings.Contains(err.Error(), "line 1: the file is larger than") {
		t.Errorf("a file over the cap: %v", err)
	}
	maxFile = size
	Write(&b, CSV, sample())
	if _, _, err := Read(&b, CSV, testRules); err != nil {
		t.Errorf("a file under the cap: %v", err)
	}
}

// TestReadNumberRules: import checks numbers and extensions with the
// sync's rules (ums.CheckNumber, Limits).
func TestReadNumberRules(t *testing.T) {
	for _, tt := range []struct{ field, from, to, want string }{
		{"mobile", "+491715550001", "+" + strings.Repeat("4", 25), "line 2: mobile: \"+4444444444444444444444444\" is not an E.164 number (25 digits, at most 15)"},
		{"mobile", "+491715550001", "+0001234", "line 2: mobile: \"+0001234\" is not an E.164 number (a country code never starts with 0)"},
		{"fax", "+49895550002", "+0049895550002", "line 2: fax_numbers: \"+0049895550002\" is not an E.164 number (a country code never starts with 0)"},
		{"extension", "2001", "2001234", "line 2: extension: \"2001234\" has 7 digits, want 2 to 6"},
	} {
		var b bytes.Buffer
		Write(&b, JSON, sample())
		text := strings.Replace(b.String(), tt.from, tt.to, 1)
		users, _, err := Read(strings.NewReader(text), JSON, testRules)
		if users != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: %d users, %v; want %q", tt.field, tt.to, len(users), err, tt.want)
		}
	}
	var b bytes.Buffer
	Write(&b, JSON, sample())
	if _, _, err := Read(&b, JSON, Rules{Limits: ums.Limits{ExtensionMin: 5, ExtensionMax: 6}}); err == nil ||
		!strings.Contains(err.Error(), `extension: "2001" has 4 digits, want 5 to 6`) {
		t.Errorf("the limits are the ones given: %v", err)
	}
}

// TestErrorsListed: a file with very many errors lists the first ones and
// counts the rest.
func TestErrorsListed(t *testing.T) {
	es := make(Errors, maxListed+5)
	for i := range es {
		es[i] = Error{Line: i + 2, Field: "mail", Msg: "bad"}
	}
	s := es.Error()
	if !strings.HasPrefix(s, "105 error(s); nothing was imported:") || !strings.HasSuffix(s, "… and 5 more") ||
		strings.Count(s, "\n") != maxListed+1 {
		t.Errorf("Errors.Error():\n%s", s)
	}
}
