package adlab

import (
	"fmt"
	"sort"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestDeleteTree: a tree of OUs and users (non-ASCII, comma-holding CNs)
// goes in one batch — a failing batch would fall back to LDAP silently,
// one slow delete per entry; a tree with a group that lost a member (which
// the DC refuses in a batch) is gone after DeleteTree; the names are free
// again.
func TestDeleteTree(t *testing.T) {
	t.Parallel()
	lab := Require(t)
	p := SamPrefix()
	gone := func(dn string) {
		t.Helper()
		_, err := lab.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"dn"}, nil))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("%s after the delete: %v, want no such object", dn, err)
		}
	}

	ou := lab.OU(t)
	sub := lab.SubOU(t, ou, "Sub Ä")
	for i, where := range []string{ou, ou, sub} {
		lab.AddUser(t, where, User{CN: fmt.Sprintf("Zoë, %d", i), Sam: fmt.Sprintf("%sdt%d", p, i)})
	}
	var dns []string
	res, err := lab.Conn(t).Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"dn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	if len(dns) != 5 {
		t.Fatalf("%d entries in the tree, want 5: %v", len(dns), dns)
	}
	sort.Slice(dns, func(i, j int) bool { return len(dns[i]) > len(dns[j]) }) // children first
	if err := lab.deleteBatch(dns); err != nil {
		t.Fatalf("batch delete: %v", err)
	}
	gone(ou)

	grouped := lab.OU(t)
	var members []string
	for i := range 3 {
		members = append(members, lab.AddUser(t, grouped, User{Sam: fmt.Sprintf("%sdg%d", p, i)}))
	}
	group := lab.AddGroup(t, grouped, "Deleted Group", members...)
	lab.RemoveMembers(t, group, members[2])
	if err := lab.DeleteTree(grouped); err != nil {
		t.Fatalf("DeleteTree: %v", err)
	}
	gone(grouped)

	// Tombstones hold no sAMAccountName: the names can be taken again.
	again := lab.OU(t)
	lab.AddUser(t, again, User{Sam: p + "dt0"})
	lab.AddUser(t, again, User{Sam: p + "dg2"})
}
