package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

// Status is the outcome of one preflight check.
type Status string

// Check outcomes.
const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn"
	StatusFail Status = "FAIL"
)

// Check is one line of a preflight: what was checked on which server, what
// was found and, unless it is ok, what to do.
type Check struct {
	Server string `json:"server,omitempty"`
	Name   string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// PreflightInput is what the preflight checks beyond the directory
// section: the fields umsync writes to the directory, and further group
// DNs (the profiles'), by their YAML path.
type PreflightInput struct {
	Writes []ums.Field
	Groups map[string]string
}

// certWarnDays: a certificate that expires sooner is a warning.
const certWarnDays = 30

// Preflight checks each server of cfg.URL the way umsync will use it: TLS,
// bind, base DNs, the schema of the mapped attributes, write rights,
// change tracking, group DNs and the page size. It never changes the
// directory. A server that cannot be bound to gets its TLS and bind lines
// only.
func Preflight(ctx context.Context, cfg Config, in PreflightInput, now time.Time) []Check {
	var out []Check
	for _, u := range cfg.URL {
		out = append(out, preflightServer(ctx, cfg, in, u, now)...)
	}
	return out
}

// preflight collects the checks of one server.
type preflight struct {
	cfg    Config
	in     PreflightInput
	server string
	out    []Check
}

func (p *preflight) add(name string, st Status, detail, fix string) {
	p.out = append(p.out, Check{Server: p.server, Name: name, Status: st, Detail: detail, Fix: fix})
}

func preflightServer(ctx context.Context, cfg Config, in PreflightInput, u string, now time.Time) []Check {
	p := &preflight{cfg: cfg, in: in, server: u}
	c, err := New(Config{URL: URLs{u}, StartTLS: cfg.StartTLS, CAFile: cfg.CAFile,
		InsecureSkipVerify: cfg.InsecureSkipVerify, BindDN: cfg.BindDN, BindPasswordFile: cfg.BindPasswordFile,
		BindPasswordEnv: cfg.BindPasswordEnv, DialTimeout: cfg.DialTimeout, Timeout: cfg.Timeout}, zerolog.Nop())
	if err != nil {
		p.add("connect", StatusFail, err.Error(), "fix directory.ca_file")
		return p.out
	}
	p.checkTLS(ctx, c, u, now)
	conn, err := c.dialURL(ctx, u)
	if err != nil {
		p.add("bind", StatusFail, err.Error(), bindFix(err))
		return p.out
	}
	defer conn.Close()
	p.add("bind", StatusOK, "bound as "+cfg.BindDN, "")
	root, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext", "schemaNamingContext", "configurationNamingContext", "dsServiceName"}, nil))
	if err != nil || len(root.Entries) != 1 {
		p.add("rootdse", StatusFail, fmt.Sprintf("read rootDSE: %v", err), "is this an Active Directory DC?")
		return p.out
	}
	rd := root.Entries[0]
	p.add("server", StatusOK, "domain controller "+rd.GetAttributeValue("dsServiceName"), "")
	sample := p.checkBaseDNs(conn)
	p.checkSchema(conn, rd.GetAttributeValue("schemaNamingContext"))
	p.checkWriteRights(conn, sample)
	p.checkChangeTracking(conn, rd.GetAttributeValue("defaultNamingContext"))
	p.checkGroups(conn)
	p.checkPageSize(conn, rd.GetAttributeValue("configurationNamingContext"))
	return p.out
}

// checkTLS fetches the server's certificate without trusting it, then
// verifies chain, name and expiry one by one, so each gets its own line.
func (p *preflight) checkTLS(ctx context.Context, c *Client, u string, now time.Time) {
	pu, _ := url.Parse(u)
	tc := c.tlsFor(u)
	host := tc.ServerName
	peek := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // only to read the chain, verified below; never bound over
	var state tls.ConnectionState
	switch pu.Scheme {
	case "ldaps":
		port := pu.Port()
		if port == "" {
			port = "636"
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: p.cfg.DialTimeout}, Config: peek}
		nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			p.add("tls", StatusFail, fmt.Sprintf("connect %s: %v", u, err), "is the DC up and is this its LDAPS port?")
			return
		}
		state = nc.(*tls.Conn).ConnectionState()
		nc.Close()
	default:
		if !p.cfg.StartTLS {
			p.add("tls", StatusFail, "no TLS: the bind password would travel in clear", "use ldaps:// or start_tls: true")
			return
		}
		conn, err := ldap.DialURL(u, ldap.DialWithDialer(&net.Dialer{Timeout: p.cfg.DialTimeout}))
		if err != nil {
			p.add("tls", StatusFail, fmt.Sprintf("connect %s: %v", u, err), "is the DC up and is this its LDAP port?")
			return
		}
		conn.SetTimeout(p.cfg.Timeout)
		err = conn.StartTLS(peek)
		if err == nil {
			state, _ = conn.TLSConnectionState()
		}
		conn.Close()
		if err != nil {
			p.add("tls", StatusFail, fmt.Sprintf("StartTLS: %v", err), "give the DC a certificate (LDAP over TLS), or use ldaps://")
			return
		}
	}
	if len(state.PeerCertificates) == 0 {
		p.add("tls", StatusFail, "the server sent no certificate", "give the DC a certificate")
		return
	}
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, ic := range state.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	switch {
	case p.cfg.InsecureSkipVerify:
		p.add("tls chain", StatusWarn, "not verified: directory.insecure_skip_verify is true", "set ca_file to the CA of the DC's certificate and drop insecure_skip_verify")
	default:
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.RootCAs, Intermediates: inter, CurrentTime: now}); err != nil {
			p.add("tls chain", StatusFail, err.Error(), "set directory.ca_file to the PEM of the CA that signed the DC's certificate")
		} else {
			p.add("tls chain", StatusOK, "verifies ("+leaf.Subject.String()+", issued by "+leaf.Issuer.String()+")", "")
		}
		if err := leaf.VerifyHostname(host); err != nil {
			p.add("tls name", StatusFail, err.Error(),
				"connect by a name the certificate carries as a SAN, or issue a certificate with a SAN for "+host)
		} else {
			p.add("tls name", StatusOK, "the certificate names "+host, "")
		}
	}
	days := int(leaf.NotAfter.Sub(now).Hours() / 24)
	switch {
	case days < 0:
		p.add("tls expiry", StatusFail, fmt.Sprintf("expired %s", leaf.NotAfter.Format(time.DateOnly)), "renew the DC's certificate")
	case days < certWarnDays:
		p.add("tls expiry", StatusWarn, fmt.Sprintf("expires in %d days (%s)", days, leaf.NotAfter.Format(time.DateOnly)), "renew the DC's certificate")
	default:
		p.add("tls expiry", StatusOK, fmt.Sprintf("expires in %d days (%s)", days, leaf.NotAfter.Format(time.DateOnly)), "")
	}
}

func bindFix(err error) string {
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return "check directory.bind_dn and the password in bind_password_file (expired? locked?)"
	case ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired):
		return "the DC wants TLS to end at it: point directory.url at the DC itself"
	case strings.Contains(err.Error(), "certificate"):
		return "set directory.ca_file to the CA of the DC's certificate, and connect by a name it carries"
	}
	return "is the DC up and reachable from here (firewall, port)?"
}

// checkBaseDNs counts the users the filter finds under each base DN and
// returns the DN of one of them, for the write-rights check ("" if none).
func (p *preflight) checkBaseDNs(conn *ldap.Conn) (sample string) {
	for i, base := range p.cfg.BaseDNs {
		key := fmt.Sprintf("directory.base_dns[%d]", i)
		n := 0
		err := pagedSearch(context.Background(), conn, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, p.cfg.filter(), []string{"1.1"}, nil), uint32(min(p.cfg.PageSize, 1000)),
			func(e *ldap.Entry) error {
				if sample == "" {
					sample = e.DN
				}
				n++
				return nil
			})
		switch {
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			p.add("base dn", StatusFail, key+": "+base+" does not exist", "correct "+key+" (copy the DN from ADUC's Attribute Editor)")
		case err != nil:
			p.add("base dn", StatusFail, fmt.Sprintf("%s: search %s: %v", key, base, err), "check directory.user_filter and the account's read rights")
		case n == 0:
			p.add("base dn", StatusWarn, key+": "+base+" exists, the filter finds no user in it",
				"check directory.user_filter, scope_group_dn and that the account may read the users")
		default:
			p.add("base dn", StatusOK, fmt.Sprintf("%s: %s: %d users match the filter", key, base, n), "")
		}
	}
	return sample
}

// multiValued says how many values umsync puts in each mapped attribute:
// true for alias numbers and the last fax attribute (they take a list).
func (m AttributeMap) multiValued(key string) bool {
	return key == "alias_numbers" || key == fmt.Sprintf("fax_numbers[%d]", len(m.FaxNumbers)-1)
}

// checkSchema looks up every mapped attribute in the schema naming
// context and compares its single/multi-valuedness with umsync's use.
func (p *preflight) checkSchema(conn *ldap.Conn, schemaNC string) {
	for _, a := range p.cfg.Attributes.named() {
		if a.attr == "" {
			continue
		}
		key := "directory.attributes." + a.key
		res, err := conn.Search(ldap.NewSearchRequest(schemaNC, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			fmt.Sprintf("(&(objectClass=attributeSchema)(lDAPDisplayName=%s))", ldap.EscapeFilter(a.attr)),
			[]string{"lDAPDisplayName", "isSingleValued"}, nil))
		switch {
		case err != nil:
			p.add("attribute", StatusFail, fmt.Sprintf("%s: read the schema: %v", key, err), "let the account read "+schemaNC)
		case len(res.Entries) == 0:
			fix := "map " + key + " to an attribute your schema has"
			if a.key == "settings" {
				fix += " (e.g. info), or extend the schema (Exchange's adds extensionAttribute1-15)"
			}
			p.add("attribute", StatusFail, fmt.Sprintf("%s: %s is not in the AD schema", key, a.attr), fix)
		default:
			single := strings.EqualFold(res.Entries[0].GetAttributeValue("isSingleValued"), "TRUE")
			want := p.cfg.Attributes.multiValued(a.key)
			switch {
			case want && single && a.key == "alias_numbers":
				p.add("attribute", StatusFail, fmt.Sprintf("%s: %s is single-valued; alias numbers need a multi-valued attribute", key, a.attr),
					"map "+key+" to a multi-valued attribute (e.g. otherTelephone)")
			case want && single:
				p.add("attribute", StatusWarn, fmt.Sprintf("%s: %s is single-valued: a user holds at most %d fax numbers", key, a.attr, len(p.cfg.Attributes.FaxNumbers)),
					"end directory.attributes.fax_numbers with a multi-valued attribute (e.g. otherFacsimileTelephoneNumber)")
			case !want && !single:
				p.add("attribute", StatusWarn, fmt.Sprintf("%s: %s is multi-valued: umsync reads its first value only", key, a.attr),
					"map "+key+" to a single-valued attribute")
			default:
				kind := "single-valued"
				if !single {
					kind = "multi-valued"
				}
				p.add("attribute", StatusOK, fmt.Sprintf("%s: %s (%s)", key, a.attr, kind), "")
			}
		}
	}
}

// checkWriteRights reads allowedAttributesEffective (the attributes the
// bound account may write on that entry) of an in-scope user and checks
// every attribute behind a field umsync writes.
func (p *preflight) checkWriteRights(conn *ldap.Conn, user string) {
	var attrs []string
	for _, f := range p.in.Writes {
		attrs = append(attrs, p.cfg.Attributes.Of(f)...)
	}
	if len(attrs) == 0 {
		return
	}
	if user == "" {
		p.add("write rights", StatusWarn, "no user in scope to check the write rights on", "check again once base_dns holds users")
		return
	}
	res, err := conn.Search(ldap.NewSearchRequest(user, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"allowedAttributesEffective"}, nil))
	if err != nil || len(res.Entries) != 1 {
		p.add("write rights", StatusFail, fmt.Sprintf("read allowedAttributesEffective of %s: %v", user, err), "let the account read the users in base_dns")
		return
	}
	allowed := map[string]bool{}
	for _, a := range res.Entries[0].GetAttributeValues("allowedAttributesEffective") {
		allowed[strings.ToLower(a)] = true
	}
	for _, f := range p.in.Writes {
		for _, a := range p.cfg.Attributes.Of(f) {
			if allowed[strings.ToLower(a)] {
				p.add("write rights", StatusOK, fmt.Sprintf("%s: may write %s (checked on %s)", f, a, user), "")
				continue
			}
			p.add("write rights", StatusFail, fmt.Sprintf("%s: the account may not write %s (checked on %s)", f, a, user),
				fmt.Sprintf("grant %s Write Property on %s of the users in base_dns, or set sync.fields.%s.direction: from_directory", p.cfg.BindDN, a, f))
		}
	}
}

// checkChangeTracking tries what a delta does: the show-deleted read of
// Deleted Objects (usn), or a DirSync request (dirsync).
func (p *preflight) checkChangeTracking(conn *ldap.Conn, defaultNC string) {
	nc := defaultNC
	if len(p.cfg.BaseDNs) > 0 {
		if d, err := ldap.ParseDN(p.cfg.BaseDNs[0]); err == nil && len(d.RDNs) > 0 {
			nc = namingContextGuess(d)
		}
	}
	switch p.cfg.ChangeTracking {
	case TrackDirSync:
		req := ldap.NewSearchRequest(nc, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=user)(sAMAccountName=umsync-preflight-none))", []string{"objectGUID"}, nil)
		res, err := conn.DirSync(req, dirSyncFlags, 0, nil)
		if err == nil && ldap.FindControl(res.Controls, ldap.ControlTypeDirSync) == nil {
			err = errors.New("the DC answered without a DirSync control")
		}
		if err != nil {
			p.add("change tracking", StatusFail, fmt.Sprintf("dirsync on %s: %v", nc, err),
				"grant the account Replicating Directory Changes on the domain, or set change_tracking: usn")
			return
		}
		p.add("change tracking", StatusOK, "dirsync works on "+nc, "")
	default:
		deleted := "CN=Deleted Objects," + nc
		_, err := conn.Search(ldap.NewSearchRequest(deleted, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=user)", []string{"objectGUID"}, []ldap.Control{ldap.NewControlMicrosoftShowDeleted()}))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			p.add("change tracking", StatusWarn, fmt.Sprintf("usn: read %s with show-deleted: %v", deleted, err),
				"grant the account List Contents and Read Property on "+deleted+" (dsacls), else a deleted user is only noticed by the nightly full cycle")
			return
		}
		p.add("change tracking", StatusOK, "usn: "+deleted+" is readable with show-deleted", "")
	}
}

// namingContextGuess is the domain part (the DC= RDNs) of a DN.
func namingContextGuess(d *ldap.DN) string {
	var parts []string
	for _, r := range d.RDNs {
		if len(r.Attributes) == 1 && strings.EqualFold(r.Attributes[0].Type, "DC") {
			parts = append(parts, "DC="+r.Attributes[0].Value)
		}
	}
	return strings.Join(parts, ",")
}

// checkGroups checks that every group DN of the config is a group.
func (p *preflight) checkGroups(conn *ldap.Conn) {
	groups := map[string]string{}
	if p.cfg.ScopeGroupDN != "" {
		groups["directory.scope_group_dn"] = p.cfg.ScopeGroupDN
	}
	if p.cfg.PhantomGroupDN != "" {
		groups["directory.phantom_group_dn"] = p.cfg.PhantomGroupDN
	}
	for k, v := range p.in.Groups {
		groups[k] = v
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		dn := groups[key]
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=group)", []string{"1.1"}, nil))
		switch {
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			p.add("group", StatusFail, fmt.Sprintf("%s: %s does not exist", key, dn), "correct "+key+" (copy the group's distinguishedName)")
		case err != nil:
			p.add("group", StatusFail, fmt.Sprintf("%s: read %s: %v", key, dn, err), "let the account read the group")
		case len(res.Entries) == 0:
			p.add("group", StatusFail, fmt.Sprintf("%s: %s is not a group", key, dn), "point "+key+" at a group")
		default:
			p.add("group", StatusOK, fmt.Sprintf("%s: %s exists", key, dn), "")
		}
	}
}

// checkPageSize compares page_size with MaxPageSize of the default query
// policy (lDAPAdminLimits); a bigger page is cut by the DC.
func (p *preflight) checkPageSize(conn *ldap.Conn, configNC string) {
	dn := "CN=Default Query Policy,CN=Query-Policies,CN=Directory Service,CN=Windows NT,CN=Services," + configNC
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"lDAPAdminLimits"}, nil))
	if err != nil || len(res.Entries) != 1 {
		p.add("page size", StatusWarn, fmt.Sprintf("read the default query policy: %v", err), "check directory.page_size against the DC's MaxPageSize (ntdsutil)")
		return
	}
	limit := maxPageSize(res.Entries[0].GetAttributeValues("lDAPAdminLimits"))
	switch {
	case limit == 0:
		p.add("page size", StatusWarn, "the default query policy sets no MaxPageSize", "")
	case p.cfg.PageSize > limit:
		p.add("page size", StatusFail, fmt.Sprintf("directory.page_size %d is above the DC's MaxPageSize %d", p.cfg.PageSize, limit),
			fmt.Sprintf("set directory.page_size to %d or less", limit))
	default:
		p.add("page size", StatusOK, fmt.Sprintf("directory.page_size %d is within the DC's MaxPageSize %d", p.cfg.PageSize, limit), "")
	}
}

// maxPageSize reads MaxPageSize=N from lDAPAdminLimits values (0: none).
func maxPageSize(limits []string) int {
	for _, l := range limits {
		if k, v, ok := strings.Cut(l, "="); ok && strings.EqualFold(k, "MaxPageSize") {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
