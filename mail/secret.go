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

// hashCost is bcrypt's cost for Hash; tests that hash hundreds of
// secrets under the race detector lower it.
var hashCost = bcrypt.DefaultCost

// SetHashCostForTests sets bcrypt's cost for Hash and returns the one
// before; call it before anything hashes. Under the race detector the
// default cost takes about a second a hash, and a test that runs serve as
// a child process mails dozens of passwords.
func SetHashCostForTests(cost int) (before int) {
	before, hashCost = hashCost, cost
	return before
}

// Hash is the bcrypt hash of a secret, as stored.
func Hash(secret string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(secret), hashCost)
	return string(h), err
}

// Verify reports whether secret matches a hash made by Hash.
func Verify(hash, secret string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}
