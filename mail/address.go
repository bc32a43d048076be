package mail

import (
	"errors"
	"fmt"
	"net/mail"

	"github.com/umsync/umsync/ums"
)

// userAddress is the recipient of a user's mail as net/mail's Address,
// which go-mail writes with the name quoted (`"O\"Brien" <…>`) or
// RFC 2047-encoded as needed: a name is never pasted into a header by
// string formatting. Control characters are stripped from the name; an
// address that holds one, or is not a plain address, is an error (the
// user's recorded problem): no mail goes to it.
func userAddress(name, addr string) (*mail.Address, error) {
	if ums.HasControl(addr) {
		return nil, errors.New("the mail address holds control characters (see umsync problems): no mail is sent to it")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("mail address %q: %w", addr, err)
	}
	if a.Name != "" || a.Address != addr {
		return nil, fmt.Errorf("mail address %q: want a plain address like jdoe@example.com", addr)
	}
	return &mail.Address{Name: ums.StripControl(name), Address: a.Address}, nil
}

// configAddress parses an address of the config (mail.from, admin_to),
// its name stripped of control characters.
func configAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	a.Name = ums.StripControl(a.Name)
	return a, nil
}
