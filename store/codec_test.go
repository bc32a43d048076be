package store

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/umsync/umsync/ums"
)

// TestUserColumnsAreTheSchema: the users table has a column for every row
// of ums.UserFields and no column that neither the table nor the store
// accounts for: a field added to the table without a migration, or a
// column without a field, fails here.
func TestUserColumnsAreTheSchema(t *testing.T) {
	s, _ := openTest(t)
	rows, err := s.read.QueryContext(context.Background(), `SELECT name FROM pragma_table_info('users') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var schema []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		schema = append(schema, n)
	}
	// The store's own columns: the merge base, the row version; and the wrong-PIN counter, which only the API's checks
	// and a PIN mail write (it is kept by a cycle and an import).
	codec := append(strings.Split(userColumns, ", "), "version", "pin_failures")
	slices.Sort(codec)
	if !slices.Equal(schema, codec) {
		t.Errorf("users table:\n%v\nthe store's codec and own columns:\n%v", schema, codec)
	}
	if got, want := strings.Count(userParams, "?"), strings.Count(userColumns, ",")+1; got != want {
		t.Errorf("%d parameters for %d columns", got, want)
	}
	for _, f := range ums.UserFields {
		if !strings.Contains(selectColumns, f.Column) || !strings.Contains(upsertUsersSQL(1), f.Column+" = excluded."+f.Column) &&
			f.Column != "anchor" && f.Column != "first_seen" {
			t.Errorf("%s: not read or not updated", f.Column)
		}
	}
}
