package directory

import (
	"errors"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

func TestDecodeGUID(t *testing.T) {
	// objectGUID bytes as AD sends them, and the string AD tools print.
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	const want = "12345678-9abc-def0-0123-456789abcdef"
	got, err := DecodeGUID(raw)
	if err != nil || got != want {
		t.Fatalf("DecodeGUID = %q, %v; want %q", got, err, want)
	}
	back, err := EncodeGUID(got)
	if err != nil || !slices.Equal(back, raw) {
		t.Fatalf("EncodeGUID(%q) = %x, %v; want %x", got, back, err, raw)
	}
	for _, bad := range [][]byte{nil, make([]byte, 15), make([]byte, 17)} {
		if _, err := DecodeGUID(bad); err == nil {
			t.Errorf("DecodeGUID(%d bytes) gave no error", len(bad))
		}
	}
	for _, bad := range []string{"", "12345678-9abc-def0-0123-456789abcdeg", "123456789abcdef00123456789abcdef0000"} {
		if _, err := EncodeGUID(bad); err == nil {
			t.Errorf("EncodeGUID(%q) gave no error", bad)
		}
	}
}

func TestDecodeEnabled(t *testing.T) {
	tests := []struct {
		uac     string
		want    bool
		wantErr bool
	}{
		{"512", true, false},     // NORMAL_ACCOUNT
		{"514", false, false},    // NORMAL_ACCOUNT|ACCOUNTDISABLE
		{"66048", true, false},   // NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD
		{"66050", false, false},  // … |ACCOUNTDISABLE
		{"2", false, false},      // the bit alone
		{"", true, false},        // absent
		{"abc", false, true},     // garbage
		{"4194816", true, false}, // NORMAL_ACCOUNT|NOT_DELEGATED
	}
	for _, tt := range tests {
		got, err := DecodeEnabled(tt.uac)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("DecodeEnabled(%q) = %v, %v; want %v, err=%v", tt.uac, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecode(t *testing.T) {
	guid := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	d := Decoder{Attrs: DefaultConfig().Attributes, Plan: ums.NumberPlan{CountryCode: "49"}}
	e := &ldap.Entry{DN: "CN=Jürgen Müller,OU=Staff,DC=example,DC=test", Attributes: []*ldap.EntryAttribute{
		{Name: "objectGUID", ByteValues: [][]byte{guid}, Values: []string{string(guid)}},
		{Name: "userAccountControl", Values: []string{"514"}},
		{Name: "sAMAccountName", Values: []string{"jmueller"}},
		{Name: "givenName", Values: []string{"Jürgen"}},
		{Name: "sn", Values: []string{"Müller"}},
		{Name: "displayName", Values: []string{"Jürgen Müller"}},
		{Name: "mail", Values: []string{"jmueller@example.test"}},
		{Name: "department", Values: []string{"Geschäftsführung"}},
		{Name: "telephoneNumber", Values: []string{"+49 (0)89 1234-5678"}},
		{Name: "ipphone", Values: []string{"20-41"}}, // attribute names are case-insensitive
		{Name: "mobile", Values: []string{"0171 1234567"}},
		{Name: "facsimileTelephoneNumber", Values: []string{"089/1234599"}},
		{Name: "otherFacsimileTelephoneNumber", Values: []string{"+49 89 1234598", "fax me"}},
	}}
	got, err := d.Decode(e)
	if err != nil {
		t.Fatal(err)
	}
	want := ums.User{
		Anchor: "12345678-9abc-def0-0123-456789abcdef", DN: e.DN, SAMAccountName: "jmueller",
		GivenName: "Jürgen", Surname: "Müller", DisplayName: "Jürgen Müller", Mail: "jmueller@example.test",
		Department: "Geschäftsführung", Extension: "2041", Phone: "+498912345678", Mobile: "+491711234567",
		FaxNumbers: []string{"+49891234599", "+49891234598", "fax me"}, Enabled: false,
	}
	if d := want.Diff(&got); len(d) != 0 || got.Anchor != want.Anchor {
		t.Fatalf("Decode differs from want: %v (anchor %q)", d, got.Anchor)
	}

	noGUID := &ldap.Entry{DN: "CN=x", Attributes: []*ldap.EntryAttribute{{Name: "sAMAccountName", Values: []string{"x"}}}}
	if _, err := d.Decode(noGUID); !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("Decode without objectGUID: err = %v, want ErrNoAnchor", err)
	}
}

func TestAttributesRequested(t *testing.T) {
	d := Decoder{Attrs: DefaultConfig().Attributes}
	want := []string{"objectGUID", "userAccountControl", "sAMAccountName", "givenName", "sn", "displayName",
		"mail", "department", "telephoneNumber", "ipPhone", "mobile", "extensionAttribute10", "otherTelephone", "facsimileTelephoneNumber", "otherFacsimileTelephoneNumber"}
	if got := d.Attributes(); !slices.Equal(got, want) {
		t.Fatalf("Attributes() = %v, want %v", got, want)
	}
}
