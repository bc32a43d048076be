package directory

import (
	"regexp"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

var anchorRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// FuzzDecode: any entry AD could hand over decodes to a user with a
// canonical anchor, or fails with an error; the user's fields survive the
// text form the store and the merge use; never a panic.
func FuzzDecode(f *testing.F) {
	guid := []byte{0x3f, 0x2a, 0x8b, 0x1c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8}
	f.Add(guid, "512", "jdoe", "Jürgen", "+49 (0)171 555-0001", "089/1234", "+49 89 5", "20-41", "ums1;vm=phone_login")
	f.Add(guid, "514", "", "", "", "", "", "", "")
	f.Add([]byte{1, 2, 3}, "x", "a", "b", "c", "d", "e", "f", "ums9")
	f.Add(guid, "66048", "a,b", "ä", "00", "0", "+", "x1", "ums1;;")
	d := Decoder{Attrs: DefaultConfig().Attributes, Plan: ums.NumberPlan{CountryCode: "49"}}
	f.Fuzz(func(t *testing.T, g []byte, uac, sam, given, mobile, fax1, fax2, ext, settings string) {
		e := &ldap.Entry{DN: "CN=x,DC=example,DC=test", Attributes: []*ldap.EntryAttribute{
			{Name: "objectGUID", Values: []string{string(g)}, ByteValues: [][]byte{g}},
			{Name: "userAccountControl", Values: []string{uac}},
			{Name: "sAMAccountName", Values: []string{sam}},
			{Name: "givenName", Values: []string{given}},
			{Name: "mobile", Values: []string{mobile}},
			{Name: "facsimileTelephoneNumber", Values: []string{fax1}},
			{Name: "otherFacsimileTelephoneNumber", Values: []string{fax2, fax1}},
			{Name: "ipPhone", Values: []string{ext}},
			{Name: "extensionAttribute10", Values: []string{settings}},
		}}
		u, err := d.Decode(e)
		if err != nil {
			return
		}
		if !anchorRE.MatchString(u.Anchor) {
			t.Fatalf("anchor %q is not canonical", u.Anchor)
		}
		ums.Validate(&u, ums.Limits{ExtensionMin: 2, ExtensionMax: 4})
		for _, f := range ums.Writable {
			var back ums.User
			if err := back.Set(f, u.Get(f)); err != nil {
				t.Fatal(err)
			}
			if back.Get(f) != u.Get(f) || (f == ums.FieldFaxNumbers && len(back.FaxNumbers) != len(u.FaxNumbers)) {
				t.Fatalf("%s: %q reads back as %q", f, u.Get(f), back.Get(f))
			}
		}
	})
}
