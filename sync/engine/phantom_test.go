package engine_test

import (
	"testing"

	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// TestPhantomUsers: members of the phantom group sync their data but take
// no seat and no extension; leaving or joining the group counts on the next
// delta.
func TestPhantomUsers(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.lab.AddUsers(t, r.ou, r.sam+"ph", 3)
	group := r.lab.AddGroup(t, r.ou, "UMS Phantoms", dns[0])
	cfg := r.lab.Config(r.ou)
	cfg.PhantomGroupDN = group
	r.ums.LicenseSeats = 2
	r.ums.ExtensionRanges = []plan.Range{{From: 1600, To: 1609}}
	e := r.engine(t, &cfg)
	r.cycle(t, e)
	got := r.users(t)
	if u := got["ph0"]; !u.Phantom || u.License != ums.LicenseNone || u.Extension != "" || u.State != ums.StateActive {
		t.Fatalf("phantom ph0 = phantom %v license %s extension %q state %s", u.Phantom, u.License, u.Extension, u.State)
	}
	for sam, ext := range map[string]string{"ph1": "1600", "ph2": "1601"} {
		if u := got[sam]; u.Phantom || u.License != ums.LicenseActive || u.Extension != ext {
			t.Errorf("%s = phantom %v license %s extension %q", sam, u.Phantom, u.License, u.Extension)
		}
	}

	r.lab.RemoveMembers(t, group, dns[0])
	r.delta(t, e)
	if u := r.users(t)["ph0"]; u.Phantom || u.Extension != "1602" || u.License != ums.LicensePending {
		t.Fatalf("ph0 after leaving the group = phantom %v extension %q license %s", u.Phantom, u.Extension, u.License)
	}

	r.lab.AddMembers(t, group, dns[1])
	r.delta(t, e)
	got = r.users(t)
	if !got["ph1"].Phantom || got["ph1"].License != ums.LicenseNone || got["ph0"].License != ums.LicenseActive {
		t.Errorf("ph1 joined the group: ph1 phantom %v license %s; ph0 license %s", got["ph1"].Phantom,
			got["ph1"].License, got["ph0"].License)
	}
}
