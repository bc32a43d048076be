package ums

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// PINPolicy is what a voicemail PIN must be (`voicemail.pin_length`).
type PINPolicy struct {
	// Length is the fewest digits a PIN has; generated PINs have exactly
	// this many.
	Length int
}

// MaxPINLength is the most digits a PIN may have (telephone keypads and
// the voicemail systems' own limit).
const MaxPINLength = 16

// Check says why pin is not a good PIN for the user with extension ext,
// nil if it is: digits only, Length to MaxPINLength of them, not one digit
// repeated, not a straight run (1234, 9876), not the extension.
func (p PINPolicy) Check(pin, ext string) error {
	if pin == "" {
		return errors.New("the PIN is empty")
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return errors.New("a PIN has digits only")
		}
	}
	if len(pin) < p.Length || len(pin) > MaxPINLength {
		return fmt.Errorf("a PIN has %d to %d digits, this one %d", p.Length, MaxPINLength, len(pin))
	}
	if strings.Count(pin, pin[:1]) == len(pin) {
		return errors.New("a PIN must not repeat one digit")
	}
	up, down := true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		up = up && (d == 1 || d == -9)
		down = down && (d == -1 || d == 9)
	}
	if up || down {
		return errors.New("a PIN must not be a run of digits")
	}
	if pin == ext {
		return errors.New("a PIN must not be the extension")
	}
	return nil
}

// Generate returns a random PIN of Length digits that passes Check.
func (p PINPolicy) Generate(ext string) (string, error) {
	if p.Length < 4 || p.Length > MaxPINLength {
		return "", fmt.Errorf("PIN length %d: want 4 to %d", p.Length, MaxPINLength)
	}
	ten := big.NewInt(10)
	for {
		b := make([]byte, p.Length)
		for i := range b {
			n, err := rand.Int(rand.Reader, ten)
			if err != nil {
				return "", err
			}
			b[i] = byte('0' + n.Int64())
		}
		if p.Check(string(b), ext) == nil {
			return string(b), nil
		}
	}
}
