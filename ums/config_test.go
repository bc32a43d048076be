package ums

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// checkDN stands in for the directory's DN parser.
func checkDN(dn string) error {
	if !strings.Contains(dn, "=") {
		return fmt.Errorf("no attribute=value in %q", dn)
	}
	return nil
}

var germany = NumberPlan{CountryCode: "49"}

// readConfig decodes a fixture strictly over the defaults, as umsync does.
func readConfig(t *testing.T, path string) Config {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// TestConfigBadFixtures: each testdata/config/bad-*.yaml holds one bad value
// of one UMS section; Parse reports exactly the errors of its "# want:"
// lines, and its section's own Validate reports the same ones.
func TestConfigBadFixtures(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/config/bad-*.yaml")
	if len(fixtures) < 20 {
		t.Fatalf("only %d fixtures found", len(fixtures))
	}
	for _, f := range fixtures {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			raw, _ := os.ReadFile(f)
			var want []string
			for _, line := range strings.Split(string(raw), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				t.Fatal("fixture has no # want: line")
			}
			c := readConfig(t, f)
			_, errs := c.Parse(germany, checkDN)
			if got := texts(errs); !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse:\n got %q\nwant %q", got, want)
			}
			var section []error
			switch strings.SplitN(filepath.Base(f), "-", 3)[1] {
			case "license":
				section = c.License.Validate("license")
			case "extensions":
				section = c.Extensions.Validate("extensions")
			case "validation":
				section = c.Validation.Validate("validation")
			case "profiles":
				section = c.Profiles.Validate("profiles", germany, checkDN)
			case "voicemail":
				if section = c.Voicemail.Validate("voicemail"); len(section) == 0 {
					return // the digit rule needs profiles: only Parse sees both
				}
			default:
				t.Fatalf("fixture %s names no UMS section", f)
			}
			if got := texts(section); !reflect.DeepEqual(got, want) {
				t.Fatalf("section Validate:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func texts(errs []error) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// TestConfigParse: a good config parses into the rules everybody shares:
// the pool's ranges, the limits, the profiles in priority order with
// their normalized defaults, the PIN policy.
func TestConfigParse(t *testing.T) {
	c := readConfig(t, "testdata/config/good.yaml")
	r, errs := c.Parse(germany, checkDN)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := Rules{
		Seats:      250,
		Pool:       []Range{{From: 2000, To: 2099}, {From: 3000, To: 3009}, {From: 4711, To: 4711}},
		Quarantine: 720 * time.Hour,
		Limits:     Limits{ExtensionMin: 3, ExtensionMax: 5},
		Profiles: Profiles{
			{Name: "sales", Group: "CN=UMS Sales,OU=Groups,DC=example,DC=test", Defaults: Overrides{
				OverrideServices: "fax,voice", OverrideVoicemail: "phone_login", OverrideRings: "4",
				OverrideLicenseType: "admin", OverrideLanguage: "en", OverrideCallForwarding: "+49301234567",
				OverrideDoNotDisturb: "on"}},
			{Name: "default", Defaults: Overrides{OverrideServices: "none"}},
		},
		PINs:            PINPolicy{Length: 8},
		MaxPINFailures:  5,
		VoicemailDigits: 4,
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", r, want)
	}
	if r.Profiles.Priority("default") != 1 || r.Profiles.Priority("") != 2 {
		t.Errorf("priorities: default %d, none %d", r.Profiles.Priority("default"), r.Profiles.Priority(""))
	}

	d, errs := DefaultConfig().Parse(NumberPlan{}, checkDN)
	if len(errs) > 0 || d.Limits != (Limits{ExtensionMin: 2, ExtensionMax: 4}) || d.PINs.Length != 6 ||
		d.MaxPINFailures != 3 || d.Quarantine != 30*24*time.Hour || d.Seats != 0 || d.Pool != nil || d.Profiles != nil {
		t.Errorf("defaults: %+v, %v", d, errs)
	}
}

// TestConfigParseChangesNothing: Parse and Validate read the config and
// leave it as it was, however bad it is.
func TestConfigParseChangesNothing(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/config/*.yaml")
	for _, f := range fixtures {
		c := readConfig(t, f)
		before := readConfig(t, f)
		c.Parse(germany, checkDN)
		c.Profiles.Validate("profiles", germany, checkDN)
		c.Extensions.Validate("extensions")
		if !reflect.DeepEqual(c, before) {
			t.Errorf("%s: Parse changed the config:\n%+v\nwas\n%+v", f, c, before)
		}
	}
}

// TestConfigParseWrapsDNError: a DN problem keeps the parser's error.
func TestConfigParseWrapsDNError(t *testing.T) {
	bad := errors.New("bad DN")
	_, errs := ProfilesConfig{{Name: "a", Group: "x"}}.Parse("profiles", NumberPlan{}, func(string) error { return bad })
	if len(errs) != 1 || !errors.Is(errs[0], bad) {
		t.Fatalf("errs = %v", errs)
	}
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string]Range{"2000-2999": {2000, 2999}, " 10 - 19 ": {10, 19}, "42": {42, 42}, "0-9": {0, 9}} {
		if r, err := ParseRange(in); err != nil || r != want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, r, err, want)
		}
	}
	for in, want := range map[string]string{
		"3000-2000": `"3000-2000": FROM must be at most TO`,
		"a-b":       `"a-b": want FROM-TO, e.g. 2000-2999`,
		"-5":        `"-5": want FROM-TO, e.g. 2000-2999`,
		"0100-0199": `"0100-0199": numbers with a leading 0 are not supported`,
	} {
		if _, err := ParseRange(in); err == nil || err.Error() != want {
			t.Errorf("ParseRange(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestPoolSize(t *testing.T) {
	for _, c := range []struct {
		name   string
		ranges []Range
		want   int
	}{
		{"none", nil, 0},
		{"one number", []Range{{4711, 4711}}, 1},
		{"two ranges", []Range{{2000, 2999}, {3000, 3009}}, 1010},
		{"overlapping: counted in each", []Range{{2000, 2099}, {2050, 2149}}, 200},
		{"exactly the most", []Range{{0, MaxPoolSize - 1}}, MaxPoolSize},
		{"one more in a second range", []Range{{0, MaxPoolSize - 1}, {1, 1}}, MaxPoolSize + 1},
		{"as far as an int goes", []Range{{0, math.MaxInt}}, MaxPoolSize + 1},
	} {
		if got := PoolSize(c.ranges); got != c.want {
			t.Errorf("%s: PoolSize = %d, want %d", c.name, got, c.want)
		}
	}
}
