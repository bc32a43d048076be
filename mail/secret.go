package mail

import (
	"crypto/rand"
	"math/big"
	"slices"

	"golang.org/x/crypto/bcrypt"
)

var classChars = map[string]string{
	"lower":  "abcdefghijkmnopqrstuvwxyz", // no l: it reads like 1 and I
	"upper":  "ABCDEFGHJKLMNPQRSTUVWXYZ",  // no I, O
	"digit":  "23456789",                  // no 0, 1
	"symbol": "!#%+-=?@_",
}

// Generate returns a random password of the policy's length with at least
// one character of each class, from crypto/rand.
func (p PasswordPolicy) Generate() (string, error) {
	var all string
	for _, c := range p.Classes {
		all += classChars[c]
	}
	pick := func(set string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, err
		}
		return set[n.Int64()], nil
	}
	for {
		b := make([]byte, p.Length)
		for i := range b {
			c, err := pick(all)
			if err != nil {
				return "", err
			}
			b[i] = c
		}
		if p.satisfied(b) {
			return string(b), nil
		}
	}
}

// satisfied says whether b has a character of every class.
func (p PasswordPolicy) satisfied(b []byte) bool {
	for _, c := range p.Classes {
		if !slices.ContainsFunc(b, func(x byte) bool { return contains(classChars[c], x) }) {
			return false
		}
	}
	return true
}

func contains(set string, x byte) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == x {
			return true
		}
	}
	return false
}

// Hash is the bcrypt hash of a secret at cost (mail.bcrypt_cost), as
// stored. A cost below bcrypt.MinCost (0: unset) is bcrypt.DefaultCost.
func Hash(secret string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(secret), cost)
	return string(h), err
}

// Verify reports whether secret matches a hash made by Hash, at whatever
// cost it was made (the cost is part of the hash).
func Verify(hash, secret string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}
