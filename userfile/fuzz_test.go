package userfile

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzRead: any file either fails with line-numbered Errors (or a format
// error) or gives users that write and read back to the same file.
func fuzzRead(t *testing.T, format string, data []byte) {
	users, _, err := Read(bytes.NewReader(data), format, testRules)
	if err != nil {
		var es Errors
		if errors.As(err, &es) {
			for _, e := range es {
				if e.Line < 1 {
					t.Fatalf("error without a line: %v", e)
				}
			}
		}
		return
	}
	var once, twice bytes.Buffer
	if err := Write(&once, format, users); err != nil {
		t.Fatal(err)
	}
	again, _, err := Read(bytes.NewReader(once.Bytes()), format, testRules)
	if err != nil {
		t.Fatalf("what Write wrote does not read back: %v\n%s", err, once.String())
	}
	Write(&twice, format, again)
	if once.String() != twice.String() {
		t.Fatalf("round trip differs:\n%s\n---\n%s", once.String(), twice.String())
	}
}

func seeds(f *testing.F, format string) {
	var b bytes.Buffer
	Write(&b, format, sample())
	f.Add(b.Bytes())
	f.Add([]byte{})
	if format == JSON {
		f.Add([]byte("[]"))
		f.Add([]byte(`[{"anchor": 1}]`))
		f.Add([]byte("[\n{\"anchor\": \"x\",\n\"state\": null}\n]"))
		f.Add([]byte("\ufeff[{\"dn\": \"=1\", \"dn\": \"\xff\"}]"))
		f.Add([]byte(`[{"fax_numbers": ["+4989", 1], "alias_numbers": "+4989;+4990", "mobile": ["x"]}]`))
		f.Add([]byte(`[{"overrides": {"rings": "8", "rings": 4}, "settings": {"a": "b"}}, {"overrides": "{"rings": " 8"}"}]`))
	} else {
		f.Add([]byte("anchor,sam_account_name\n"))
		f.Add([]byte("anchor\n\"unterminated\n"))
		f.Add([]byte("\ufeffanchor,dn\n'=1,''x\n"))
	}
}

func FuzzReadJSON(f *testing.F) {
	seeds(f, JSON)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, JSON, data) })
}

func FuzzReadCSV(f *testing.F) {
	seeds(f, CSV)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, CSV, data) })
}
