package directory

import "github.com/go-ldap/ldap/v3"

// CheckDN reports whether dn is a distinguished name in LDAP's string
// form (RFC 4514: CN=Anne Müller\, Süd,OU=Staff,DC=example,DC=test):
// nil if it is, else what the parser found wrong. The empty string is the
// root's DN and passes; a caller that needs an entry refuses it. Other
// packages check DNs with it, so that go-ldap's parser is used here only.
func CheckDN(dn string) error {
	_, err := ldap.ParseDN(dn)
	return err
}
