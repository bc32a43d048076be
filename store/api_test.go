package store

import (
	"context"
	"testing"
	"time"

	"github.com/umsync/umsync/ums"
)

// Paging through the changes feed sees every user and tombstone once, in
// version order, whatever the page size: a mirror has no gap and nothing
// twice.
func TestChangesFeedPagesWithoutGapOrRepeat(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var users []ums.User
	for _, x := range []string{"a", "b", "c", "d"} {
		users = append(users, testUser(x+"aaaaaaa-0000-0000-0000-000000000001", "u"+x, now))
	}
	if _, err := s.ImportUsers(ctx, users, false, false, "test", now); err != nil {
		t.Fatal(err)
	}
	_, start, err := s.ListUsersAt(ctx, UserFilter{})
	if err != nil || start == 0 {
		t.Fatalf("cursor %d, %v", start, err)
	}
	editUser(t, s, users[1].Anchor, "admin", []Edit{{Field: ums.FieldPhone, New: "+4930111"}}, now)
	// users[2] is purged (an import with --replace without it).
	if _, err := s.ImportUsers(ctx, []ums.User{users[0], users[1], users[3]}, true, false, "test", now); err != nil {
		t.Fatal(err)
	}
	editUser(t, s, users[3].Anchor, "admin", []Edit{{Field: ums.FieldMobile, New: "+4917000"}}, now)
	all, end, err := s.Changes(ctx, start, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range all {
		got[c.User.Anchor] = c.Purged
	}
	if len(all) != 3 || !got[users[2].Anchor] || got[users[1].Anchor] || got[users[3].Anchor] {
		t.Fatalf("changes after %d: %+v, want bob, dora changed and carl purged", start, got)
	}
	for limit := 1; limit <= 4; limit++ {
		var seen []int64
		for cur := int64(0); ; {
			page, next, err := s.Changes(ctx, cur, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				if next != end {
					t.Errorf("limit %d: last cursor %d, want %d", limit, next, end)
				}
				break
			}
			for _, c := range page {
				if len(seen) > 0 && c.Version <= seen[len(seen)-1] {
					t.Fatalf("limit %d: version %d after %d", limit, c.Version, seen[len(seen)-1])
				}
				seen = append(seen, c.Version)
			}
			cur = next
		}
		if len(seen) != 4 { // 3 users and 1 tombstone
			t.Errorf("limit %d: %d entries %v, want 4", limit, len(seen), seen)
		}
	}
	// A purged user that comes back has no tombstone any more.
	if _, err := s.ImportUsers(ctx, []ums.User{users[2]}, false, false, "test", now); err != nil {
		t.Fatal(err)
	}
	back, _, err := s.Changes(ctx, end, 0)
	if err != nil || len(back) != 1 || back[0].Purged || back[0].User.SAMAccountName != "uc" {
		t.Errorf("after the purged user came back: %+v, %v", back, err)
	}
}
