package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/ums"
)

// TestConvergenceProperty: seeded random batches of AD changes (users
// created, deleted, disabled, enabled; department and mobile changed) and
// umsync edits (mobile, which is two-way with store_wins), each followed
// by a cycle (delta; every third full), then cycles until nothing is left
// to do; the store and AD must equal a simple model of the expected
// result. A few seeds run in CI; UMSYNC_PROPERTY_SEEDS=N (make soak) runs N.
func TestConvergenceProperty(t *testing.T) {
	t.Parallel()
	n := 3
	if s := os.Getenv("UMSYNC_PROPERTY_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for seed := int64(1); seed <= int64(n); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			convergence(t, seed)
		})
	}
}

type modelUser struct {
	dn                 string
	inAD, enabled      bool
	department, mobile string
}

func convergence(t *testing.T, seed int64) {
	rnd := rand.New(rand.NewSource(seed))
	r := newRig(t)
	r.sync.Fields["mobile"] = engine.FieldRule{Direction: "both", Policy: "store_wins"}
	prefix := adlab.SamPrefix() + fmt.Sprintf("p%d", seed)
	model := map[string]*modelUser{}
	next := 0
	add := func() string {
		sam := fmt.Sprintf("%su%d", prefix, next)
		next++
		m := &modelUser{inAD: true, enabled: true, department: fmt.Sprintf("D%d", rnd.Intn(5)),
			mobile: fmt.Sprintf("+4917155%05d", rnd.Intn(100000))}
		m.dn = r.lab.AddUser(t, r.ou, adlab.User{Sam: sam, Attrs: map[string][]string{
			"department": {m.department}, "mobile": {m.mobile}}})
		model[sam] = m
		return sam
	}
	for range 6 {
		add()
	}
	e := r.engine(t, nil)
	r.cycle(t, e)

	names := func() []string {
		var out []string
		for sam, m := range model {
			if m.inAD {
				out = append(out, sam)
			}
		}
		sort.Strings(out)
		return out
	}
	for batch := range 6 {
		// One op per user per batch (a user made and deleted between two
		// cycles never reaches umsync: nothing to model).
		touched := map[string]bool{}
		for range 1 + rnd.Intn(4) {
			live := names()
			op := rnd.Intn(7)
			if op == 0 || len(live) == 0 {
				touched[add()] = true
				continue
			}
			sam := live[rnd.Intn(len(live))]
			if touched[sam] {
				continue
			}
			touched[sam] = true
			m := model[sam]
			switch op {
			case 1:
				r.lab.Delete(t, m.dn)
				m.inAD = false
			case 2:
				r.lab.Modify(t, m.dn, "userAccountControl", "514")
				m.enabled = false
			case 3:
				r.lab.Modify(t, m.dn, "userAccountControl", "512")
				m.enabled = true
			case 4:
				m.department = fmt.Sprintf("D%d", rnd.Intn(5))
				r.lab.Modify(t, m.dn, "department", m.department)
			case 5:
				m.mobile = fmt.Sprintf("+4917166%05d", rnd.Intn(100000))
				r.lab.Modify(t, m.dn, "mobile", m.mobile)
			case 6: // umsync edits the mobile (an active user it knows)
				if u, ok := r.users(t)[sam]; ok && u.State == ums.StateActive {
					m.mobile = fmt.Sprintf("+4917177%05d", rnd.Intn(100000))
					r.edit(t, sam, true, ums.FieldValue{Field: ums.FieldMobile, Value: m.mobile})
				}
			}
		}
		mode := engine.ModeDelta
		if batch%3 == 2 {
			mode = engine.ModeFull
		}
		if _, err := e.Cycle(context.Background(), engine.Options{Mode: mode}); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
	}
	for i := 0; ; i++ {
		res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
		if err != nil {
			t.Fatal(err)
		}
		pending, _ := r.store.CountWrites(context.Background())
		if res.Plan.Len() == 0 && pending[store.WritePending] == 0 {
			break
		}
		if i == 5 {
			t.Fatalf("not quiet after 5 more cycles: %d actions, %d writes pending", res.Plan.Len(), pending[store.WritePending])
		}
	}

	got := r.users(t)
	for sam, m := range model {
		u, ok := got[sam]
		if !ok {
			t.Errorf("%s is not in the store", sam)
			continue
		}
		wantState := ums.StateActive
		if !m.inAD || !m.enabled {
			wantState = ums.StateDeactivated
		}
		if u.State != wantState {
			t.Errorf("%s: state %s, want %s (in AD %v, enabled %v)", sam, u.State, wantState, m.inAD, m.enabled)
		}
		if !m.inAD {
			continue
		}
		if u.Department != m.department || u.Mobile != m.mobile {
			t.Errorf("%s: store department %q mobile %q, want %q %q", sam, u.Department, u.Mobile, m.department, m.mobile)
		}
		if ad := r.lab.Values(t, m.dn, "mobile"); len(ad) != 1 || ad[0] != m.mobile {
			t.Errorf("%s: AD mobile %q, want %q", sam, ad, m.mobile)
		}
	}
	if len(got) != len(model) {
		t.Errorf("store has %d users, the model %d", len(got), len(model))
	}
}
