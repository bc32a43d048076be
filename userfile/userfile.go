package userfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/ums"
)

// Formats.
const (
	JSON = "json"
	CSV  = "csv"
)

// Columns are the record's keys, in file order: the Exported fields of
// ums.UserFields.
var Columns = func() []string {
	var out []string
	for _, f := range ums.UserFields {
		if f.Has(ums.Exported) {
			out = append(out, string(f.Name))
		}
	}
	return out
}()

// listSep joins a list's numbers in a CSV cell (a cell is text); JSON
// holds a list as an array.
const listSep = ";"

// TimeLayout is how times are written (UTC, with the store's precision).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Limits of a file Read accepts: a bigger file or a longer value is
// refused (a value this long is no name, number or DN but an attack on
// memory or on whoever opens the file).
const (
	MaxFileBytes  = 256 << 20 // 256 MiB: ~300,000 users
	MaxFieldBytes = 4096      // one value, after CSV quoting and JSON escapes are undone
)

// maxFile is MaxFileBytes, lowered by a test.
var maxFile = MaxFileBytes

// bom is the UTF-8 byte order mark some editors (Excel) put first.
const bom = "\ufeff"

// formulaStart holds the first characters that make a spreadsheet run a
// CSV cell as a formula (OWASP, CSV injection): = + - @ tab CR. A quote
// starts the cell that neutralizes one, so it is escaped too.
const formulaStart = "=+-@\t\r'"

// neutralize makes a CSV cell that a spreadsheet would run as a formula
// plain text by putting a single quote first; a value that starts with a
// quote gets one more, so that restore gives every value back as it was.
func neutralize(v string) string {
	if v != "" && strings.IndexByte(formulaStart, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// restore undoes neutralize: one leading quote is dropped.
func restore(cell string) string {
	return strings.TrimPrefix(cell, "'")
}

// record is one user as the file holds it: the text of each column or
// key, and the values of each list (the numbers of a list field). A list
// read from a CSV cell, or from a JSON string as exports before the
// arrays wrote it, is text until decode splits it. An object (overrides)
// is its JSON text, whether the file gave the object or, as CSV and
// exports before the objects do, that text as a string.
type record struct {
	text  map[string]string
	lists map[string][]string
}

func newRecord() record {
	return record{text: map[string]string{}, lists: map[string][]string{}}
}

// has reports whether the record gives key k.
func (r record) has(k string) bool {
	_, text := r.text[k]
	_, list := r.lists[k]
	return text || list
}

// cell is column c's text: a list joined with listSep.
func (r record) cell(c string) string {
	if l, ok := r.lists[c]; ok {
		return strings.Join(l, listSep)
	}
	return r.text[c]
}

// toRecord writes each Exported field of u: a list as its values, the
// others as text.
func toRecord(u *ums.User) record {
	r := newRecord()
	for _, f := range ums.UserFields {
		if !f.Has(ums.Exported) {
			continue
		}
		switch p := f.Ptr(u).(type) {
		case *string:
			r.text[string(f.Name)] = *p
		case *[]string:
			r.lists[string(f.Name)] = *p
		case *bool:
			r.text[string(f.Name)] = strconv.FormatBool(*p)
		case *time.Time:
			if !p.IsZero() {
				r.text[string(f.Name)] = p.UTC().Format(TimeLayout)
			}
		}
	}
	return r
}

// Write writes users in format (json or csv). JSON holds a list as an
// array of strings and an object (overrides) as an object of strings ({}
// for none); CSV joins a list with ";" in one cell and holds an object as
// its JSON text. A CSV cell that a spreadsheet would run as a formula (it
// starts with = + - @ tab or CR) is written with a single quote first, and
// so is one that starts with a quote; Read takes that quote off again.
func Write(w io.Writer, format string, users []ums.User) error {
	switch format {
	case JSON:
		if _, err := io.WriteString(w, "[\n"); err != nil {
			return err
		}
		for i := range users {
			r := toRecord(&users[i])
			var b bytes.Buffer
			b.WriteString("  {")
			for j, c := range Columns { // fixed key order, one user per line
				if j > 0 {
					b.WriteString(", ")
				}
				k, _ := json.Marshal(c)
				var v []byte
				switch l, list := r.lists[c]; {
				case list:
					if l == nil {
						l = []string{}
					}
					v, _ = json.Marshal(l)
				case isBool[c]:
					v = []byte(r.text[c])
				case isObject[c]:
					v = objectJSON(r.text[c])
				default:
					v, _ = json.Marshal(r.text[c])
				}
				b.Write(k)
				b.WriteString(": ")
				b.Write(v)
			}
			b.WriteString("}")
			if i < len(users)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]\n")
		return err
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(Columns); err != nil {
			return err
		}
		for i := range users {
			r := toRecord(&users[i])
			row := make([]string, len(Columns))
			for j, c := range Columns {
				row[j] = neutralize(r.cell(c))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("format %q: want json or csv", format)
}

// isBool are the columns JSON writes as true or false, isList the ones it
// writes as arrays of strings, isObject the ones it writes as objects of
// strings.
var isBool, isList, isObject = kinds(ums.Bool), kinds(ums.List), kinds(ums.Object)

// objectJSON is an Object field's text (a JSON object of strings, "" for
// none) as the JSON export writes it: the object itself, {} for none. A
// text that is no such object (a stored value umsync could not read) is
// written as a string, as it is, for import to report.
func objectJSON(text string) []byte {
	var m map[string]string
	if text != "" {
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			b, _ := json.Marshal(text)
			return b
		}
	}
	if len(m) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(m) // sorts the keys
	return b
}

// readObject reads raw, a JSON object whose values are strings, as
// objectJSON writes it; a key given twice is refused, as in a user's
// object.
func readObject(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want an object of strings, got %.40s", raw)
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string) // inside an object, More means a key
		tok, err = dec.Token()
		v, ok := tok.(string)
		if err != nil || !ok {
			return nil, fmt.Errorf("want an object of strings, got %.40s", raw)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("key %q given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

func kinds(k ums.Kind) map[string]bool {
	m := map[string]bool{}
	for _, f := range ums.UserFields {
		if f.Kind == k {
			m[string(f.Name)] = true
		}
	}
	return m
}

// Error is one problem of one record.
type Error struct {
	Line  int
	Field string
	Msg   string
}

func (e Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// maxListed is how many errors Errors.Error lists: a hostile file can
// have millions.
const maxListed = 100

// Errors are all the problems of a file.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d error(s); nothing was imported:", len(es))
	for i, e := range es {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(es)-maxListed)
			break
		}
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Rules are what Read checks numbers and extensions against: the same as
// the sync (directory.country_code, validation.extension_*).
type Rules struct {
	Numbers ums.NumberPlan
	Limits  ums.Limits
}

// Read parses and validates a file. It returns the users and the line each
// starts on. Any problem (returned as Errors, each with its line and field)
// means no user: a file imports whole or not at all.
//
// A leading UTF-8 byte order mark is skipped. Refused: a file over
// MaxFileBytes, bytes that are not UTF-8, a column (CSV) or key (JSON)
// given twice, a value over MaxFieldBytes or with a control character
// (CR, LF, tab...: every field is one line), a number or extension that
// breaks rules, an anchor twice, a sAMAccountName on two active users. A
// CSV cell written neutralized (a leading quote, see Write) is restored.
func Read(r io.Reader, format string, rules Rules) ([]ums.User, []int, error) {
	if format != JSON && format != CSV {
		return nil, nil, fmt.Errorf("format %q: want json or csv", format)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(maxFile)+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxFile {
		return nil, nil, Errors{{1, "", fmt.Sprintf("the file is larger than %d bytes", maxFile)}}
	}
	data = bytes.TrimPrefix(data, []byte(bom))
	var recs []record
	var lines []int
	var errs Errors
	if format == JSON {
		recs, lines, errs = readJSON(data)
	} else {
		recs, lines, errs = readCSV(data)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	users := make([]ums.User, 0, len(recs))
	anchors, names := map[string]int{}, map[string]int{}
	for i, rec := range recs {
		u, es := decode(rec, lines[i], rules)
		errs = append(errs, es...)
		if first, ok := anchors[u.Anchor]; ok && u.Anchor != "" {
			errs = append(errs, Error{lines[i], "anchor", fmt.Sprintf("%s is also on line %d", u.Anchor, first)})
		}
		anchors[u.Anchor] = lines[i]
		key := strings.ToLower(u.SAMAccountName)
		if first, ok := names[key]; ok && key != "" && u.State == ums.StateActive {
			errs = append(errs, Error{lines[i], "sam_account_name", fmt.Sprintf("%s is also active on line %d", u.SAMAccountName, first)})
		}
		if u.State == ums.StateActive {
			names[key] = lines[i]
		}
		users = append(users, u)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return users, lines, nil
}

// checkValue reports what makes v (a decoded value) unfit for any field:
// its length, or a control character (no field has more than one line).
func checkValue(line int, field, v string) Errors {
	if len(v) > MaxFieldBytes {
		return Errors{{line, field, fmt.Sprintf("%d bytes, at most %d", len(v), MaxFieldBytes)}}
	}
	for i, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Errors{{line, field, fmt.Sprintf("a control character or line break (%U at byte %d): every field is one line of text", r, i)}}
		}
	}
	return nil
}

func readJSON(data []byte) ([]record, []int, Errors) {
	// lineAt counts lines from the last offset asked for, not from the
	// start: offsets only grow, and a count from the start per key was
	// quadratic in the file's size. An error's offset may be behind.
	line, at := 1, 0
	lineAt := func(off int64) int {
		o := min(int(off), len(data))
		if o < at {
			return 1 + bytes.Count(data[:o], []byte("\n"))
		}
		line, at = line+bytes.Count(data[at:o], []byte("\n")), o
		return line
	}
	// next is where the next token starts: after the separators that
	// follow the last one.
	next := func(dec *json.Decoder) int {
		start := int(dec.InputOffset())
		for start < len(data) && strings.IndexByte(" \t\r\n,:", data[start]) >= 0 {
			start++
		}
		return start
	}
	syntax := func(err error, line int) Errors {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Errors{{lineAt(se.Offset), "", "not valid JSON: " + err.Error()}}
		}
		return Errors{{line, "", "not valid JSON: " + err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, nil, Errors{{1, "", "want a JSON array of users"}}
	}
	var recs []record
	var lines []int
	var errs Errors
	for dec.More() {
		line := lineAt(int64(next(dec)))
		if tok, err := dec.Token(); err != nil {
			return nil, nil, append(errs, syntax(err, line)...)
		} else if tok != json.Delim('{') {
			return nil, nil, append(errs, Error{line, "", fmt.Sprintf("want an object per user, got %v", tok)})
		}
		rec := newRecord()
		for dec.More() {
			start := next(dec)
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, append(errs, syntax(err, line)...)
			}
			k, _ := tok.(string) // inside an object, More means a key
			// The decoder turns bad bytes into U+FFFD: look at the bytes.
			keyLine := lineAt(int64(start))
			if !utf8.Valid(data[start:dec.InputOffset()]) {
				return nil, nil, append(errs, Error{keyLine, strconv.QuoteToASCII(k), "the key is not valid UTF-8"})
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, append(errs, syntax(err, keyLine)...)
			}
			if rec.has(k) {
				errs = append(errs, Error{keyLine, k, "given twice in this user's object"})
				continue
			}
			if !utf8.Valid(raw) {
				errs = append(errs, Error{keyLine, k, "not valid UTF-8"})
				rec.text[k] = ""
				continue
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, nil, append(errs, Error{keyLine, k, err.Error()})
			}
			switch x := v.(type) {
			case string:
				rec.text[k] = x
				errs = append(errs, checkValue(keyLine, k, x)...)
			case bool:
				rec.text[k] = strconv.FormatBool(x)
			case nil:
				rec.text[k] = ""
			case map[string]any:
				if !isObject[k] {
					rec.text[k] = ""
					errs = append(errs, Error{keyLine, k, fmt.Sprintf("want %s, got %.40s", wantJSON(k), raw)})
					continue
				}
				m, err := readObject(raw)
				if err != nil {
					rec.text[k] = ""
					errs = append(errs, Error{keyLine, k, err.Error()})
					continue
				}
				var es Errors
				for _, mk := range slices.Sorted(maps.Keys(m)) {
					es = append(es, checkValue(keyLine, k, mk)...)
					es = append(es, checkValue(keyLine, k, m[mk])...)
				}
				// The object's text, read as an older export's string is.
				rec.text[k] = ums.Overrides(m).Encode()
				if len(es) == 0 {
					es = checkValue(keyLine, k, rec.text[k]) // its length
				}
				errs = append(errs, es...)
			case []any:
				if !isList[k] {
					rec.text[k] = ""
					errs = append(errs, Error{keyLine, k, fmt.Sprintf("want %s, got %.40s", wantJSON(k), raw)})
					continue
				}
				list := make([]string, 0, len(x))
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						errs = append(errs, Error{keyLine, k, fmt.Sprintf("want an array of strings, got %.40s", raw)})
						break
					}
					errs = append(errs, checkValue(keyLine, k, s)...)
					list = append(list, s)
				}
				rec.lists[k] = list
			default:
				rec.text[k] = ""
				errs = append(errs, Error{keyLine, k, fmt.Sprintf("want %s, got %.40s", wantJSON(k), raw)})
			}
		}
		if _, err := dec.Token(); err != nil { // the closing brace
			return nil, nil, append(errs, syntax(err, line)...)
		}
		recs, lines = append(recs, rec), append(lines, line)
	}
	if _, err := dec.Token(); err != nil {
		errs = append(errs, Error{lineAt(dec.InputOffset()), "", "not valid JSON: " + err.Error()})
	}
	return recs, lines, errs
}

// wantJSON says what JSON value key k takes.
func wantJSON(k string) string {
	switch {
	case isList[k]:
		return "an array of strings"
	case isObject[k]:
		return "an object of strings (or its JSON text)"
	}
	return "a string or true/false"
}

func readCSV(data []byte) ([]record, []int, Errors) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, Errors{{1, "", "want a header row: " + err.Error()}}
	}
	var errs Errors
	seen := map[string]int{}
	for i, h := range header {
		switch first, dup := seen[h]; {
		case !utf8.ValidString(h):
			errs = append(errs, Error{1, fmt.Sprintf("column %d", i+1), "the name is not valid UTF-8"})
		case !contains(Columns, h):
			errs = append(errs, Error{1, h, "unknown column"})
		case dup:
			errs = append(errs, Error{1, h, fmt.Sprintf("column given twice (columns %d and %d)", first, i+1)})
		default:
			seen[h] = i + 1
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	var recs []record
	var lines []int
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, append(errs, Error{pe.Line, "", pe.Err.Error()})
			}
			return nil, nil, append(errs, Error{len(lines) + 2, "", err.Error()})
		}
		line, _ := cr.FieldPos(0) // only after a successful Read (it panics otherwise)
		if len(row) != len(header) {
			errs = append(errs, Error{line, "", fmt.Sprintf("%d fields, the header has %d", len(row), len(header))})
			continue
		}
		rec := newRecord()
		for i, h := range header {
			if !utf8.ValidString(row[i]) {
				errs = append(errs, Error{line, h, "not valid UTF-8"})
				continue
			}
			v := restore(row[i])
			errs = append(errs, checkValue(line, h, v)...)
			rec.text[h] = v
		}
		recs, lines = append(recs, rec), append(lines, line)
	}
	return recs, lines, errs
}

var anchorRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// decode checks one record and makes the user: each Exported field from
// its cell by its kind, then each value through the field's check (numbers
// and extensions are normalized as the directory's are, then must pass the
// sync's rules).
func decode(rec record, line int, rules Rules) (ums.User, Errors) {
	var errs Errors
	bad := func(field, format string, a ...any) {
		errs = append(errs, Error{line, field, fmt.Sprintf(format, a...)})
	}
	for k := range rec.text { // a list's key is a known one
		if !contains(Columns, k) {
			bad(k, "unknown field")
		}
	}
	checks := valueChecks(rules)
	// check runs the field's check on v and returns v as it normalized it.
	check := func(field ums.Field, v string) string {
		c := checks[field]
		if c == nil {
			return v
		}
		n, err := c(v)
		if err != nil {
			bad(string(field), "%v", err)
		}
		return n
	}
	var u ums.User
	for _, f := range ums.UserFields {
		if !f.Has(ums.Exported) {
			continue
		}
		name := string(f.Name)
		v := rec.text[name]
		switch p := f.Ptr(&u).(type) {
		case *string:
			if v == "" {
				v = f.Default
			}
			*p = check(f.Name, v)
		case *[]string:
			list, ok := rec.lists[name]
			if !ok && v != "" { // a CSV cell, or an older export's JSON string
				list = strings.Split(v, listSep)
			}
			for _, x := range list {
				*p = append(*p, check(f.Name, x))
			}
		case *bool:
			if v == "" {
				v = f.Default
			}
			switch v {
			case "", "false":
			case "true":
				*p = true
			default:
				bad(name, "%q: want true or false", v)
			}
		case *time.Time:
			if v == "" {
				if !f.Has(ums.Optional) {
					bad(name, "required")
				}
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad(name, "%q is not a time like 2026-11-24T08:00:00Z", v)
			}
			*p = t.UTC().Truncate(time.Millisecond)
		}
	}
	if u.State == ums.StateDeactivated && u.DeactivatedAt.IsZero() {
		bad("deactivated_at", "required for a deactivated user")
	}
	return u, errs
}

// valueChecks are the checks of the fields whose values have rules: each
// gets one value (a text, or one number of a list) and returns it
// normalized, or what is wrong with it.
func valueChecks(rules Rules) map[ums.Field]func(string) (string, error) {
	number := func(v string) (string, error) {
		if v == "" {
			return "", nil
		}
		n, ok := rules.Numbers.NormalizeE164(v)
		if !ok {
			return v, fmt.Errorf("%q is not a phone number", v)
		}
		return n, ums.CheckNumber(n)
	}
	return map[ums.Field]func(string) (string, error){
		"anchor": func(v string) (string, error) {
			if !anchorRE.MatchString(v) {
				return v, fmt.Errorf("%q is not an objectGUID (like 0a1b2c3d-0000-4000-8000-00000000000a, lower case)", v)
			}
			return v, nil
		},
		ums.FieldSAMAccountName: func(v string) (string, error) {
			if v == "" {
				return v, errors.New("required")
			}
			return v, nil
		},
		ums.FieldDN: func(v string) (string, error) {
			if directory.CheckDN(v) != nil || v == "" {
				return v, fmt.Errorf("%q is not a DN", v)
			}
			return v, nil
		},
		ums.FieldMail: func(v string) (string, error) {
			if v != "" && (!strings.Contains(v, "@") || strings.ContainsAny(v, " <>")) {
				return v, fmt.Errorf("%q is not a mail address", v)
			}
			return v, nil
		},
		ums.FieldExtension: func(v string) (string, error) {
			if v == "" {
				return v, nil
			}
			ext, ok := ums.NormalizeExtension(v)
			if !ok {
				return "", fmt.Errorf("%q is not an extension (digits only)", v)
			}
			if err := rules.Limits.CheckExtension(ext); err != nil {
				return "", err
			}
			return ext, nil
		},
		ums.FieldPhone: number, ums.FieldMobile: number, ums.FieldFaxNumbers: number, ums.FieldAliasNumbers: number,
		ums.FieldSettings: func(v string) (string, error) {
			_, err := ums.ParseSettings(v)
			return v, err
		},
		"overrides": func(v string) (string, error) {
			o, err := ums.ParseOverrides(v)
			if err != nil {
				return v, err
			}
			return o.Encode(), nil // canonical, however the file spelled it
		},
		"state": func(v string) (string, error) {
			if !ums.State(v).Valid() {
				return v, fmt.Errorf("%q: want active or deactivated", v)
			}
			return v, nil
		},
		"license": func(v string) (string, error) {
			switch ums.LicenseState(v) {
			case ums.LicenseActive, ums.LicensePending, ums.LicenseNone:
				return v, nil
			}
			return v, fmt.Errorf("%q: want active, pending or none", v)
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
