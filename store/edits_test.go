package store

import (
	"context"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// editUser applies edits to the user with anchor as `umsync users set`
// does: through UpdateUser, audited as actor.
func editUser(t *testing.T, s *Store, anchor, actor string, edits []Edit, now time.Time) {
	t.Helper()
	set := func(*ums.User) ([]Edit, error) { return edits, nil }
	if _, err := s.UpdateUser(context.Background(), anchor, actor, "set", set, now); err != nil {
		t.Fatal(err)
	}
}
