package directory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/umsync/umsync/ums"
)

// uacAccountDisable is the ACCOUNTDISABLE bit of userAccountControl.
const uacAccountDisable = 0x2

// DecodeGUID renders a 16-byte objectGUID in its canonical string form, the
// one AD tools show: the first three groups are stored little-endian.
func DecodeGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6],
		b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]), nil
}

// EncodeGUID is the inverse of DecodeGUID, for filters on objectGUID.
func EncodeGUID(s string) ([]byte, error) {
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 || len(s) != 36 {
		return nil, fmt.Errorf("not a GUID: %q", s)
	}
	var raw [16]byte
	for i := range raw {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("not a GUID: %q", s)
		}
		raw[i] = byte(v)
	}
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	out := make([]byte, 16)
	for i, j := range order {
		out[j] = raw[i]
	}
	return out, nil
}

// DecodeEnabled reads userAccountControl: enabled unless ACCOUNTDISABLE is
// set. A missing value counts as enabled (AD always sets it on users).
func DecodeEnabled(uac string) (bool, error) {
	if uac == "" {
		return true, nil
	}
	v, err := strconv.ParseInt(uac, 10, 64)
	if err != nil {
		return false, fmt.Errorf("userAccountControl %q is not a number", uac)
	}
	return v&uacAccountDisable == 0, nil
}

// ErrNoAnchor is returned for an entry without a usable objectGUID.
var ErrNoAnchor = errors.New("entry has no objectGUID")

// Decoder maps LDAP entries to ums.User values.
type Decoder struct {
	Attrs AttributeMap
	Plan  ums.NumberPlan
}

// Attributes is the attribute list a search must request.
func (d Decoder) Attributes() []string {
	out := []string{"objectGUID", "userAccountControl"}
	for _, a := range d.Attrs.named() {
		if a.attr != "" {
			out = append(out, a.attr)
		}
	}
	return out
}

// Decode maps one entry. Numbers that do not normalize are kept as typed
// (they are the admin's data; validation reports them later).
func (d Decoder) Decode(e *ldap.Entry) (ums.User, error) {
	guid, err := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
	if err != nil {
		return ums.User{}, fmt.Errorf("%s: %w: %v", e.DN, ErrNoAnchor, err)
	}
	enabled, err := DecodeEnabled(e.GetAttributeValue("userAccountControl"))
	if err != nil {
		return ums.User{}, fmt.Errorf("%s: %w", e.DN, err)
	}
	get := func(attr string) string {
		if attr == "" {
			return ""
		}
		return strings.TrimSpace(e.GetEqualFoldAttributeValue(attr))
	}
	number := func(attr string) string {
		n, _ := d.Plan.NormalizeE164(get(attr))
		return n
	}
	ext, _ := ums.NormalizeExtension(get(d.Attrs.Extension))
	u := ums.User{
		Anchor:         guid,
		DN:             e.DN,
		SAMAccountName: get(d.Attrs.SAMAccountName),
		GivenName:      get(d.Attrs.GivenName),
		Surname:        get(d.Attrs.Surname),
		DisplayName:    get(d.Attrs.DisplayName),
		Mail:           get(d.Attrs.Mail),
		Department:     get(d.Attrs.Department),
		Extension:      ext,
		Phone:          number(d.Attrs.Phone),
		Mobile:         number(d.Attrs.Mobile),
		Settings:       get(d.Attrs.Settings),
		Enabled:        enabled,
	}
	for _, attr := range d.Attrs.FaxNumbers {
		u.FaxNumbers = d.appendNumbers(u.FaxNumbers, e.GetEqualFoldAttributeValues(attr))
	}
	if d.Attrs.AliasNumbers != "" {
		u.AliasNumbers = d.appendNumbers(u.AliasNumbers, e.GetEqualFoldAttributeValues(d.Attrs.AliasNumbers))
	}
	return u, nil
}

// appendNumbers adds the values of a multi-valued number attribute to
// list, normalized. A list travels comma-joined (merge, write-back), so a
// comma is no part of a number: a value "1,2" typed in AD would come back
// as two (found by FuzzDecode); commas are dropped, and so are values left
// empty.
func (d Decoder) appendNumbers(list, values []string) []string {
	for _, v := range values {
		n, _ := d.Plan.NormalizeE164(strings.ReplaceAll(v, ",", " "))
		if n = strings.TrimSpace(n); n != "" {
			list = append(list, n)
		}
	}
	return list
}
