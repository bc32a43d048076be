package directory

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	yaml "go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/ums"
)

// Config is the `directory:` section of the umsync config.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port], or a list of them
	// (redundant DCs): the first that answers is used, in order.
	URL URLs `yaml:"url"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM bundle the server certificate must chain to. Empty:
	// the system's roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns certificate verification off. Never default;
	// logged as a warning every time a client is built.
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	BindDN             string `yaml:"bind_dn"`
	// BindPasswordFile is read at every bind, so rotation needs no restart.
	BindPasswordFile string `yaml:"bind_password_file"`
	// BindPasswordEnv names an environment variable holding the password,
	// used when BindPasswordFile is empty.
	BindPasswordEnv string   `yaml:"bind_password_env"`
	BaseDNs         []string `yaml:"base_dns"`
	UserFilter      string   `yaml:"user_filter"`
	// ChangeTracking is how a delta finds changes: TrackUSN (uSNChanged
	// above the watermark) or TrackDirSync (the DirSync control's cookie).
	ChangeTracking string `yaml:"change_tracking"`
	// ScopeGroupDN, when set, narrows the scope to members of this group,
	// nested membership included (AD's in-chain matching rule).
	ScopeGroupDN string `yaml:"scope_group_dn"`
	// PhantomGroupDN, when set, marks its members (nested included) as
	// phantom users: they keep their data but use no seat and no extension.
	PhantomGroupDN string `yaml:"phantom_group_dn"`
	PageSize       int    `yaml:"page_size"`
	// ReadConnections is how many connections a read uses in parallel, each
	// reading its own partition of the users (see Client.Users). 1 reads
	// serially.
	ReadConnections int           `yaml:"read_connections"`
	DialTimeout     time.Duration `yaml:"dial_timeout"`
	// Timeout bounds every LDAP request (one page of a search).
	Timeout time.Duration `yaml:"timeout"`
	// CountryCode expands national numbers to E.164 ("49": 089… → +4989…).
	CountryCode string       `yaml:"country_code"`
	Attributes  AttributeMap `yaml:"attributes"`
}

// URLs are the directory servers to try, in order. In YAML a single
// string or a list.
type URLs []string

// UnmarshalYAML takes `url: ldaps://dc1` as well as a list of URLs.
func (u *URLs) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*u = URLs{s}
		if s == "" {
			*u = nil
		}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*u = list
	return nil
}

// AttributeMap names the AD attribute behind each UMS field.
type AttributeMap struct {
	SAMAccountName string   `yaml:"sam_account_name"`
	GivenName      string   `yaml:"given_name"`
	Surname        string   `yaml:"surname"`
	DisplayName    string   `yaml:"display_name"`
	Mail           string   `yaml:"mail"`
	Department     string   `yaml:"department"`
	Phone          string   `yaml:"phone"`
	Extension      string   `yaml:"extension"`
	Mobile         string   `yaml:"mobile"`
	FaxNumbers     []string `yaml:"fax_numbers"`
	// AliasNumbers is one multi-valued attribute: a user's further numbers.
	AliasNumbers string `yaml:"alias_numbers"`
	// Settings holds the user's UMS settings (ums.Settings' format).
	Settings string `yaml:"settings"`
}

// Of returns the attributes behind a UMS field (none if it is not mapped).
func (m AttributeMap) Of(f ums.Field) []string {
	if f == ums.FieldFaxNumbers {
		return m.FaxNumbers
	}
	for _, a := range m.named() {
		if a.key == string(f) && a.attr != "" {
			return []string{a.attr}
		}
	}
	return nil
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{
		UserFilter:      "(&(objectCategory=person)(objectClass=user))",
		PageSize:        500, // see doc.go: 1000 held 6-8 MB more for no faster read
		ReadConnections: 2,
		ChangeTracking:  TrackUSN,
		DialTimeout:     10 * time.Second,
		Timeout:         30 * time.Second,
		CountryCode:     "49",
		Attributes: AttributeMap{
			SAMAccountName: "sAMAccountName",
			GivenName:      "givenName",
			Surname:        "sn",
			DisplayName:    "displayName",
			Mail:           "mail",
			Department:     "department",
			Phone:          "telephoneNumber",
			Extension:      "ipPhone",
			Mobile:         "mobile",
			FaxNumbers:     []string{"facsimileTelephoneNumber", "otherFacsimileTelephoneNumber"},
			AliasNumbers:   "otherTelephone",
			Settings:       "extensionAttribute10",
		},
	}
}

// attrNameRE is an LDAP attribute description: a name or a numeric OID.
var attrNameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

// Validate returns every problem, each prefixed with its YAML path under
// prefix (e.g. "directory").
func (c *Config) Validate(prefix string) []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, a...)))
	}
	if len(c.URL) == 0 {
		add("url", "required")
	}
	for i, raw := range c.URL {
		key := "url"
		if len(c.URL) > 1 {
			key = fmt.Sprintf("url[%d]", i)
		}
		u, err := url.Parse(raw)
		if err != nil {
			add(key, "not a URL: %v", err)
			continue
		}
		switch u.Scheme {
		case "ldap", "ldaps":
		default:
			add(key, "scheme must be ldap or ldaps, not %q", u.Scheme)
		}
		if u.Host == "" {
			add(key, "needs a host")
		}
		if u.Scheme == "ldaps" && c.StartTLS {
			add("start_tls", "cannot be used with ldaps:// (the connection is already TLS)")
		}
		if u.Scheme == "ldap" && !c.StartTLS {
			add(key, "ldap:// without start_tls: true would send the bind password in clear: set start_tls: true or use ldaps://")
		}
	}
	if c.CAFile != "" {
		if _, err := loadCAPool(c.CAFile); err != nil {
			add("ca_file", "%v", err)
		}
	}
	if c.CAFile != "" && c.InsecureSkipVerify {
		add("insecure_skip_verify", "cannot be combined with ca_file")
	}
	if c.BindDN == "" {
		add("bind_dn", "required")
	} else if _, err := ldap.ParseDN(c.BindDN); err != nil {
		add("bind_dn", "not a DN: %v", err)
	}
	switch {
	case c.BindPasswordFile != "" && c.BindPasswordEnv != "":
		add("bind_password_file", "set either bind_password_file or bind_password_env, not both")
	case c.BindPasswordFile != "":
		if _, err := os.Stat(c.BindPasswordFile); err != nil {
			add("bind_password_file", "%v", err)
		}
	case c.BindPasswordEnv != "":
		if _, ok := os.LookupEnv(c.BindPasswordEnv); !ok {
			add("bind_password_env", "environment variable %s is not set", c.BindPasswordEnv)
		}
	default:
		add("bind_password_file", "required (or bind_password_env)")
	}
	if len(c.BaseDNs) == 0 {
		add("base_dns", "at least one base DN is required")
	}
	parsed := make([]*ldap.DN, len(c.BaseDNs))
	for i, dn := range c.BaseDNs {
		d, err := ldap.ParseDN(dn)
		if err != nil || strings.TrimSpace(dn) == "" {
			add(fmt.Sprintf("base_dns[%d]", i), "not a DN: %q", dn)
			continue
		}
		parsed[i] = d
		// Report the first overlap of each entry only.
		for j := range i {
			if overlap := overlaps(d, parsed[j]); overlap != "" {
				add(fmt.Sprintf("base_dns[%d]", i), "%s base_dns[%d] (subtrees are searched whole: list each once)", overlap, j)
				break
			}
		}
	}
	if c.UserFilter == "" {
		add("user_filter", "required")
	} else if _, err := ldap.CompileFilter(c.UserFilter); err != nil {
		add("user_filter", "not an LDAP filter: %v", err)
	}
	switch c.ChangeTracking {
	case TrackUSN, TrackDirSync:
	default:
		add("change_tracking", "must be usn or dirsync, got %q", c.ChangeTracking)
	}
	if c.ScopeGroupDN != "" {
		if _, err := ldap.ParseDN(c.ScopeGroupDN); err != nil {
			add("scope_group_dn", "not a DN: %v", err)
		}
	}
	if c.PhantomGroupDN != "" {
		if _, err := ldap.ParseDN(c.PhantomGroupDN); err != nil {
			add("phantom_group_dn", "not a DN: %v", err)
		}
	}
	if c.PageSize < 1 || c.PageSize > 100000 {
		add("page_size", "must be between 1 and 100000, got %d", c.PageSize)
	}
	if c.ReadConnections < 1 || c.ReadConnections > 16 {
		add("read_connections", "must be between 1 and 16, got %d", c.ReadConnections)
	}
	if c.DialTimeout <= 0 {
		add("dial_timeout", "must be positive")
	}
	if c.Timeout <= 0 {
		add("timeout", "must be positive")
	}
	if c.CountryCode != "" && !regexp.MustCompile(`^[1-9][0-9]{0,2}$`).MatchString(c.CountryCode) {
		add("country_code", "must be 1-3 digits without + or leading 0, got %q", c.CountryCode)
	}
	for _, a := range c.Attributes.named() {
		if a.attr == "" {
			if a.required {
				add("attributes."+a.key, "required")
			}
			continue
		}
		if !attrNameRE.MatchString(a.attr) {
			add("attributes."+a.key, "not an LDAP attribute name: %q", a.attr)
		}
	}
	return errs
}

// overlaps says how d relates to an earlier base DN e: "same as", "inside",
// "contains", or "" when the subtrees are disjoint.
func overlaps(d, e *ldap.DN) string {
	switch {
	case e == nil:
		return ""
	case d.EqualFold(e):
		return "same as"
	case e.AncestorOfFold(d):
		return "inside"
	case d.AncestorOfFold(e):
		return "contains"
	}
	return ""
}

type namedAttr struct {
	key, attr string
	required  bool
}

// named lists the map's entries with their YAML keys, fax numbers indexed.
func (m AttributeMap) named() []namedAttr {
	out := []namedAttr{
		{"sam_account_name", m.SAMAccountName, true},
		{"given_name", m.GivenName, false},
		{"surname", m.Surname, false},
		{"display_name", m.DisplayName, false},
		{"mail", m.Mail, false},
		{"department", m.Department, false},
		{"phone", m.Phone, false},
		{"extension", m.Extension, false},
		{"mobile", m.Mobile, false},
		{"settings", m.Settings, false},
		{"alias_numbers", m.AliasNumbers, false},
	}
	for i, f := range m.FaxNumbers {
		out = append(out, namedAttr{fmt.Sprintf("fax_numbers[%d]", i), f, true})
	}
	return out
}

// Password returns the bind password from its file or variable. A single
// trailing newline (as editors write it) is dropped.
func (c *Config) Password() (string, error) {
	if c.BindPasswordFile != "" {
		b, err := os.ReadFile(c.BindPasswordFile)
		if err != nil {
			return "", fmt.Errorf("read bind_password_file: %w", err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
	if c.BindPasswordEnv != "" {
		v, ok := os.LookupEnv(c.BindPasswordEnv)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", c.BindPasswordEnv)
		}
		return v, nil
	}
	return "", fmt.Errorf("no bind password configured")
}

// Change tracking methods.
const (
	TrackUSN     = "usn"
	TrackDirSync = "dirsync"
)

// matchingRuleInChain is AD's LDAP_MATCHING_RULE_IN_CHAIN: memberOf matches
// through nested groups.
const matchingRuleInChain = "1.2.840.113556.1.4.1941"

// filter is the user filter narrowed to the scope group, if there is one.
func (c *Config) filter() string {
	if c.ScopeGroupDN == "" {
		return c.UserFilter
	}
	return fmt.Sprintf("(&%s(memberOf:%s:=%s))", c.UserFilter, matchingRuleInChain, ldap.EscapeFilter(c.ScopeGroupDN))
}

// loadCAPool reads a PEM bundle into a certificate pool.
func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}
