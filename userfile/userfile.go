package userfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

// Formats.
const (
	JSON = "json"
	CSV  = "csv"
)

// Columns are the record's keys, in file order.
var Columns = []string{"anchor", "sam_account_name", "dn", "given_name", "surname", "display_name", "mail",
	"department", "extension", "phone", "mobile", "fax_numbers", "alias_numbers", "settings", "overrides",
	"enabled", "state", "deactivation_reason", "license", "license_since", "phantom", "first_seen",
	"updated_at", "deactivated_at"}

// TimeLayout is how times are written (UTC, with the store's precision).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// record is one user as a map from column to text.
type record map[string]string

func toRecord(u *ums.User) record {
	t := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(TimeLayout)
	}
	return record{
		"anchor": u.Anchor, "sam_account_name": u.SAMAccountName, "dn": u.DN, "given_name": u.GivenName,
		"surname": u.Surname, "display_name": u.DisplayName, "mail": u.Mail, "department": u.Department,
		"extension": u.Extension, "phone": u.Phone, "mobile": u.Mobile,
		"fax_numbers": strings.Join(u.FaxNumbers, ";"), "alias_numbers": strings.Join(u.AliasNumbers, ";"),
		"settings": u.Settings, "overrides": u.Overrides, "enabled": strconv.FormatBool(u.Enabled),
		"state": string(u.State), "deactivation_reason": u.DeactivationReason, "license": string(u.License),
		"license_since": t(u.LicenseSince), "phantom": strconv.FormatBool(u.Phantom), "first_seen": t(u.FirstSeen),
		"updated_at": t(u.UpdatedAt), "deactivated_at": t(u.DeactivatedAt),
	}
}

// Write writes users in format (json or csv).
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
				v, _ := json.Marshal(r[c])
				if c == "enabled" || c == "phantom" {
					v = []byte(r[c])
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
				row[j] = r[c]
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

// Errors are all the problems of a file.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d error(s); nothing was imported:", len(es))
	for _, e := range es {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Read parses and validates a file; numbers are normalized with numbers.
// Any problem (returned as Errors, each with its line and field) means
// no user: a file imports whole or not at all.
func Read(r io.Reader, format string, numbers ums.NumberPlan) ([]ums.User, error) {
	var recs []record
	var lines []int
	var errs Errors
	switch format {
	case JSON:
		recs, lines, errs = readJSON(r)
	case CSV:
		recs, lines, errs = readCSV(r)
	default:
		return nil, fmt.Errorf("format %q: want json or csv", format)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	users := make([]ums.User, 0, len(recs))
	anchors, names := map[string]int{}, map[string]int{}
	for i, rec := range recs {
		u, es := decode(rec, lines[i], numbers)
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
		return nil, errs
	}
	return users, nil
}

func readJSON(r io.Reader) ([]record, []int, Errors) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, Errors{{1, "", err.Error()}}
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, nil, Errors{{1, "", "want a JSON array of users"}}
	}
	var recs []record
	var lines []int
	var errs Errors
	for dec.More() {
		// The object starts after the separators that follow the last token.
		start := int(dec.InputOffset())
		for start < len(data) && strings.IndexByte(" \t\r\n,", data[start]) >= 0 {
			start++
		}
		line := lineAt(int64(start))
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, nil, append(errs, Error{lineAt(se.Offset), "", "not valid JSON: " + err.Error()})
			}
			return nil, nil, append(errs, Error{line, "", "want an object per user: " + err.Error()})
		}
		rec := record{}
		for k, v := range raw {
			switch x := v.(type) {
			case string:
				rec[k] = x
			case bool:
				rec[k] = strconv.FormatBool(x)
			case nil:
				rec[k] = ""
			default:
				errs = append(errs, Error{line, k, fmt.Sprintf("want a string or true/false, got %v", v)})
			}
		}
		recs, lines = append(recs, rec), append(lines, line)
	}
	if _, err := dec.Token(); err != nil {
		errs = append(errs, Error{lineAt(dec.InputOffset()), "", "not valid JSON: " + err.Error()})
	}
	return recs, lines, errs
}

func readCSV(r io.Reader) ([]record, []int, Errors) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, Errors{{1, "", "want a header row: " + err.Error()}}
	}
	var errs Errors
	for _, h := range header {
		if !contains(Columns, h) {
			errs = append(errs, Error{1, h, "unknown column"})
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
		rec := record{}
		for i, h := range header {
			rec[h] = row[i]
		}
		recs, lines = append(recs, rec), append(lines, line)
	}
	return recs, lines, errs
}

var anchorRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// decode checks one record and makes the user.
func decode(rec record, line int, numbers ums.NumberPlan) (ums.User, Errors) {
	var errs Errors
	bad := func(field, format string, a ...any) {
		errs = append(errs, Error{line, field, fmt.Sprintf(format, a...)})
	}
	for k := range rec {
		if !contains(Columns, k) {
			bad(k, "unknown field")
		}
	}
	u := ums.User{Anchor: rec["anchor"], SAMAccountName: rec["sam_account_name"], DN: rec["dn"],
		GivenName: rec["given_name"], Surname: rec["surname"], DisplayName: rec["display_name"], Mail: rec["mail"],
		Department: rec["department"], Settings: rec["settings"], Overrides: rec["overrides"],
		DeactivationReason: rec["deactivation_reason"]}
	if !anchorRE.MatchString(u.Anchor) {
		bad("anchor", "%q is not an objectGUID (like 0a1b2c3d-0000-4000-8000-00000000000a, lower case)", u.Anchor)
	}
	if u.SAMAccountName == "" {
		bad("sam_account_name", "required")
	}
	if _, err := ldap.ParseDN(u.DN); err != nil || u.DN == "" {
		bad("dn", "%q is not a DN", u.DN)
	}
	if u.Mail != "" && (!strings.Contains(u.Mail, "@") || strings.ContainsAny(u.Mail, " <>")) {
		bad("mail", "%q is not a mail address", u.Mail)
	}
	if x := rec["extension"]; x != "" {
		if ext, ok := ums.NormalizeExtension(x); !ok {
			bad("extension", "%q is not an extension (digits only)", x)
		} else {
			u.Extension = ext
		}
	}
	number := func(field, v string) string {
		n, ok := numbers.NormalizeE164(v)
		if !ok {
			bad(field, "%q is not a phone number", v)
		}
		return n
	}
	if v := rec["phone"]; v != "" {
		u.Phone = number("phone", v)
	}
	if v := rec["mobile"]; v != "" {
		u.Mobile = number("mobile", v)
	}
	list := func(field string) []string {
		var out []string
		if v := rec[field]; v != "" {
			for _, x := range strings.Split(v, ";") {
				out = append(out, number(field, x))
			}
		}
		return out
	}
	u.FaxNumbers, u.AliasNumbers = list("fax_numbers"), list("alias_numbers")
	if _, err := ums.ParseSettings(u.Settings); err != nil {
		bad("settings", "%v", err)
	}
	if _, err := ums.ParseOverrides(u.Overrides); err != nil {
		bad("overrides", "%v", err)
	}
	boolean := func(field string, def bool) bool {
		switch rec[field] {
		case "":
			return def
		case "true":
			return true
		case "false":
			return false
		}
		bad(field, "%q: want true or false", rec[field])
		return def
	}
	u.Enabled, u.Phantom = boolean("enabled", true), boolean("phantom", false)
	u.State = ums.State(rec["state"])
	if !u.State.Valid() {
		bad("state", "%q: want active or deactivated", rec["state"])
	}
	u.License = ums.LicenseState(rec["license"])
	switch u.License {
	case ums.LicenseActive, ums.LicensePending, ums.LicenseNone:
	case "":
		u.License = ums.LicenseNone
	default:
		bad("license", "%q: want active, pending or none", rec["license"])
	}
	when := func(field string, required bool) time.Time {
		v := rec[field]
		if v == "" {
			if required {
				bad(field, "required")
			}
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(field, "%q is not a time like 2026-11-24T08:00:00Z", v)
		}
		return t.UTC().Truncate(time.Millisecond)
	}
	u.FirstSeen, u.UpdatedAt = when("first_seen", true), when("updated_at", true)
	u.LicenseSince, u.DeactivatedAt = when("license_since", false), when("deactivated_at", false)
	if u.State == ums.StateDeactivated && u.DeactivatedAt.IsZero() {
		bad("deactivated_at", "required for a deactivated user")
	}
	return u, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
