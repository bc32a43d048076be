package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/sync/engine"
	"github.com/umsync/umsync/sync/plan"
	"github.com/umsync/umsync/ums"
)

// edit changes fields of sam in the store as `umsync users set` does:
// with write, the change is queued for the directory against the base.
func (r *rig) edit(t *testing.T, sam string, write bool, fv ...ums.FieldValue) {
	t.Helper()
	u := r.users(t)[sam]
	var edits []store.Edit
	for _, x := range fv {
		edits = append(edits, store.Edit{Field: x.Field, New: x.Value, Write: write, WriteOld: u.BaseOf(x.Field)})
	}
	set := func(*ums.User) ([]store.Edit, error) { return edits, nil }
	if _, err := r.store.UpdateUser(context.Background(), u.Anchor, "tester", "set", set, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func writes(t *testing.T, r *rig, status string) []store.DirectoryWrite {
	t.Helper()
	ws, err := r.store.Writes(context.Background(), status, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestWriteBackAndNoEcho: fields changed in umsync reach AD (read back with
// a search), the base follows, and the next delta sees its own write and
// plans nothing.
func TestWriteBackAndNoEcho(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	cfg := r.lab.Config(r.ou)
	cfg.Attributes.Settings = "info" // Samba's schema has no extensionAttribute10 (Exchange's)
	e := r.engine(t, &cfg)
	r.cycle(t, e)
	settings := "ums1;vm=phone_login_remote;svc=fax,voice;rings=4;lang=de"
	r.edit(t, "staff1", true,
		ums.FieldValue{Field: ums.FieldMobile, Value: "+491725550001"},
		ums.FieldValue{Field: ums.FieldFaxNumbers, Value: "+49891111,+49892222,+49893333"},
		ums.FieldValue{Field: ums.FieldSettings, Value: settings})
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "done"); v != 0 {
		t.Fatalf("writes done before any cycle: %v", v)
	}
	r.delta(t, e) // flushes the outbox
	dn := dns["staff1"]
	for attr, want := range map[string][]string{
		"mobile": {"+491725550001"}, "facsimileTelephoneNumber": {"+49891111"},
		"otherFacsimileTelephoneNumber": {"+49892222", "+49893333"}, "info": {settings},
	} {
		got := r.lab.Values(t, dn, attr)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("AD %s = %v, want %v", attr, got, want)
		}
	}
	if done := writes(t, r, store.WriteDone); len(done) != 3 {
		t.Fatalf("%d writes done, want 3: %+v", len(done), writes(t, r, ""))
	}
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "done"); v != 3 {
		t.Errorf("writes_total{done} = %v", v)
	}
	u := r.users(t)["staff1"]
	if b := u.BaseOf(ums.FieldMobile); b != "+491725550001" || len(u.Base) != 0 {
		t.Errorf("base of mobile = %q after the write", b)
	}
	// No echo: the delta reads the user our write changed and plans nothing.
	res := r.delta(t, e)
	if res.Run.Read != 1 || res.Plan.Len() != 0 {
		t.Errorf("the delta after the write-back: read %d, planned %+v", res.Run.Read, res.Plan.Actions)
	}
	if len(writes(t, r, store.WritePending)) != 0 {
		t.Error("writes queued again")
	}
}

// TestConcurrentADChangeIsNeverOverwritten: AD changes a field after the
// write was planned. The write's precondition rejects it, AD keeps its
// value, a conflict is recorded (manual policy), and resolving it for the
// store converges both sides.
func TestConcurrentADChangeIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	e := r.engine(t, nil)
	r.cycle(t, e)
	r.edit(t, "staff2", true, ums.FieldValue{Field: ums.FieldExtension, Value: "4002"})
	r.lab.Modify(t, dns["staff2"], "ipPhone", "5002") // someone else, meanwhile
	res := r.delta(t, e)
	if got := r.lab.Values(t, dns["staff2"], "ipPhone"); !slices.Equal(got, []string{"5002"}) {
		t.Fatalf("AD ipPhone = %v: the concurrent change was overwritten", got)
	}
	rejected := writes(t, r, store.WriteRejected)
	if len(rejected) != 1 || !strings.Contains(rejected[0].LastError, "changed since the write was planned") {
		t.Fatalf("rejected writes = %+v", rejected)
	}
	if res.Plan.Conflicts() != 1 || r.users(t)["staff2"].Extension != "4002" {
		t.Fatalf("conflicts planned %d, store extension %q", res.Plan.Conflicts(), r.users(t)["staff2"].Extension)
	}
	cs, _ := r.store.OpenConflicts(context.Background())
	if len(cs) != 1 || cs[0].Directory != "5002" || cs[0].Store != "4002" || cs[0].Base != "3002" {
		t.Fatalf("open conflicts = %+v", cs)
	}
	if v := metric(t, r.reg, "umsync_conflicts_open"); v != 1 {
		t.Errorf("conflicts_open = %v", v)
	}
	// It stays a conflict, untouched on both sides, until an admin decides.
	r.delta(t, e)
	if got := r.lab.Values(t, dns["staff2"], "ipPhone"); !slices.Equal(got, []string{"5002"}) {
		t.Fatalf("AD ipPhone = %v while in conflict", got)
	}
	if _, err := r.store.ResolveConflict(context.Background(), cs[0].ID, "store", "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
	r.delta(t, e)
	if got := r.lab.Values(t, dns["staff2"], "ipPhone"); !slices.Equal(got, []string{"4002"}) {
		t.Errorf("after resolving for the store: AD ipPhone = %v", got)
	}
	if res := r.delta(t, e); res.Plan.Len() != 0 {
		t.Errorf("not converged: %+v", res.Plan.Actions)
	}
	if cs, _ := r.store.OpenConflicts(context.Background()); len(cs) != 0 {
		t.Errorf("open conflicts after resolving: %+v", cs)
	}
}

// TestPolicies: a field changed differently on both sides follows its
// policy; the same change on both sides is no conflict.
func TestPolicies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy    plan.Policy
		wantAD    string
		wantStore string
		conflicts int
	}{
		{plan.DirectoryWins, "+4917100000ad", "+4917100000ad", 0},
		{plan.StoreWins, "+4917100000us", "+4917100000us", 0},
		{plan.Manual, "+4917100000ad", "+4917100000us", 1},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			r := newRig(t)
			r.sync.Fields = map[string]engine.FieldRule{"mobile": {Direction: "both", Policy: string(tt.policy)}}
			dns := r.seed(t)
			e := r.engine(t, nil)
			r.cycle(t, e)
			r.edit(t, "staff0", false, ums.FieldValue{Field: ums.FieldMobile, Value: "+4917100000us"})
			r.lab.Modify(t, dns["staff0"], "mobile", "+4917100000ad")
			res := r.delta(t, e)
			if got := r.lab.Values(t, dns["staff0"], "mobile"); !slices.Equal(got, []string{tt.wantAD}) {
				t.Errorf("AD mobile = %v, want %s", got, tt.wantAD)
			}
			if got := r.users(t)["staff0"].Mobile; got != tt.wantStore {
				t.Errorf("store mobile = %q, want %s", got, tt.wantStore)
			}
			if res.Plan.Conflicts() != tt.conflicts {
				t.Errorf("%d conflicts, want %d", res.Plan.Conflicts(), tt.conflicts)
			}
		})
	}
	t.Run("same change on both sides", func(t *testing.T) {
		r := newRig(t)
		dns := r.seed(t)
		e := r.engine(t, nil)
		r.cycle(t, e)
		r.edit(t, "staff3", false, ums.FieldValue{Field: ums.FieldExtension, Value: "4444"})
		r.lab.Modify(t, dns["staff3"], "ipPhone", "4444")
		res := r.delta(t, e)
		if res.Plan.Conflicts() != 0 || res.Plan.Writes() != 0 {
			t.Errorf("conflicts %d, writes %d: want none", res.Plan.Conflicts(), res.Plan.Writes())
		}
		u := r.users(t)["staff3"]
		if b := u.BaseOf(ums.FieldExtension); b != "4444" {
			t.Errorf("base = %q, want the agreed 4444", b)
		}
	})
}

// TestWriteWithoutRightsFailsForGood: a bind account that may read but not
// write: the write fails permanently, is recorded with the reason and
// counted, is not retried, and the store keeps the admin's value.
func TestWriteWithoutRightsFailsForGood(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	r.cycle(t, r.engine(t, nil))
	pw := "Rd-only-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "") + "-Aa1"
	reader := r.lab.AddPlainUser(t, r.ou, r.sam+"rdonly", pw)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	cfg := r.lab.Config(r.ou)
	cfg.BindDN, cfg.BindPasswordFile = reader, pwFile
	e := r.engine(t, &cfg)
	r.edit(t, "staff1", true, ums.FieldValue{Field: ums.FieldExtension, Value: "4111"})
	if _, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeFull}); err != nil {
		t.Fatal(err)
	}
	failed := writes(t, r, store.WriteFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "Insufficient Access") || failed[0].Attempts != 1 {
		t.Fatalf("failed writes = %+v (all: %+v)", failed, writes(t, r, ""))
	}
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "failed"); v != 1 {
		t.Errorf("writes_total{failed} = %v", v)
	}
	if got := r.users(t)["staff1"].Extension; got != "4111" {
		t.Errorf("store extension = %q: the admin's value was lost", got)
	}
	if err := e.FlushWrites(context.Background()); err != nil || len(writes(t, r, store.WritePending)) != 0 {
		t.Errorf("a permanently failed write is pending again: %v", err)
	}
}

// TestWriteToAttributeNotInSchema: the default settings attribute,
// extensionAttribute10, comes with Exchange's schema; Samba (and an AD
// without Exchange) lacks it. The write fails for good with a reason that
// says so, instead of being retried or taken for a concurrent change.
func TestWriteToAttributeNotInSchema(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(t)
	r.ums.Mail = true
	e := r.engine(t, nil)
	r.cycle(t, e)
	r.edit(t, "staff1", true, ums.FieldValue{Field: ums.FieldSettings, Value: "ums1;svc=fax"})
	r.delta(t, e)
	failed := writes(t, r, store.WriteFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "is the attribute in the AD schema") {
		t.Fatalf("failed writes = %+v (all %+v)", failed, writes(t, r, ""))
	}
	// The admin alert names the user as admins know it, not by GUID alone.
	all, _ := r.store.Mails(context.Background(), "")
	var ms []store.Mail
	for _, m := range all {
		if m.Kind == ums.MailAlert {
			ms = append(ms, m)
		}
	}
	if len(ms) != 1 || ms[0].Cause != "writes" || !strings.Contains(ms[0].Body, "field settings of user "+r.sam+"staff1 (Jörg Weiß1)") {
		t.Errorf("alert mails = %+v", ms)
	}
}

// TestStagingWritesNothing: a staging server runs full cycles (a delta
// request too), keeps its store current, records the plan, and neither
// writes to AD nor records conflicts.
func TestStagingWritesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	r.sync.Mode = engine.ModeStaging
	e := r.engine(t, nil)
	r.cycle(t, e)
	r.edit(t, "staff1", true, ums.FieldValue{Field: ums.FieldMobile, Value: "+491725550009"})
	r.edit(t, "staff2", false, ums.FieldValue{Field: ums.FieldExtension, Value: "4702"})
	r.lab.Modify(t, dns["staff2"], "ipPhone", "5702")
	r.lab.Modify(t, dns["staff3"], "department", "Support")
	res, err := e.Cycle(context.Background(), engine.Options{Mode: engine.ModeDelta})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Mode != "full" || !strings.Contains(res.FullBecause, "staging") {
		t.Errorf("mode %s (%q), want full because of staging", res.Run.Mode, res.FullBecause)
	}
	if got := r.lab.Values(t, dns["staff1"], "mobile"); len(got) != 0 {
		t.Errorf("staging wrote mobile %v to AD", got)
	}
	if got := r.lab.Values(t, dns["staff2"], "ipPhone"); !slices.Equal(got, []string{"5702"}) {
		t.Errorf("AD ipPhone = %v", got)
	}
	if cs, _ := r.store.OpenConflicts(context.Background()); len(cs) != 0 {
		t.Errorf("staging recorded conflicts: %+v", cs)
	}
	if r.users(t)["staff3"].Department != "Support" {
		t.Error("staging did not keep its store current")
	}
	runs, _ := r.store.Runs(context.Background(), 1)
	if !strings.Contains(runs[0].Plan, "conflict extension: directory \"5702\", store \"4702\"") ||
		!strings.Contains(runs[0].Plan, "department: \"\" -> \"Support\"") {
		t.Errorf("recorded plan:\n%s", runs[0].Plan)
	}
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "done"); v != 0 {
		t.Errorf("writes done in staging: %v", v)
	}
}

// TestWriteRetriesWhileADIsUnreachable: a write that fails because AD does
// not answer stays queued, is retried after a backoff, and lands once AD is
// back.
func TestWriteRetriesWhileADIsUnreachable(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	dns := r.seed(t)
	r.cycle(t, r.engine(t, nil))
	r.edit(t, "staff0", true, ums.FieldValue{Field: ums.FieldExtension, Value: "4900"})

	down := r.lab.Config(r.ou)
	down.URL = directory.URLs{"ldaps://" + closedAddr(t)}
	e := r.engine(t, &down)
	if err := e.FlushWrites(context.Background()); err != nil {
		t.Fatal(err)
	}
	pending := writes(t, r, store.WritePending)
	if len(pending) != 1 || pending[0].Attempts != 1 || !strings.Contains(pending[0].LastError, "connection refused") ||
		!pending[0].NextAttemptAt.After(time.Now()) {
		t.Fatalf("after a failed attempt: %+v", pending)
	}
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "retried"); v != 1 {
		t.Errorf("writes_total{retried} = %v", v)
	}
	// Not due yet: a second flush does not try again.
	e.FlushWrites(context.Background())
	if w := writes(t, r, store.WritePending); len(w) != 1 || w[0].Attempts != 1 {
		t.Fatalf("retried before its backoff: %+v", w)
	}
	time.Sleep(time.Until(pending[0].NextAttemptAt) + 50*time.Millisecond)
	up := r.engine(t, nil)
	if err := up.FlushWrites(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.lab.Values(t, dns["staff0"], "ipPhone"); !slices.Equal(got, []string{"4900"}) {
		t.Errorf("AD ipPhone = %v after AD came back", got)
	}
	if done := writes(t, r, store.WriteDone); len(done) != 1 || done[0].Attempts != 2 {
		t.Errorf("done writes = %+v", done)
	}
}

// TestShutdownDuringWriteBack: serve stops (its context ends) while the
// outbox is flushed. A write AD took is recorded as done all the same, or
// the next start would send it again against a precondition that no longer
// holds; a write stopped before AD answered stays pending with no attempt
// counted. Not parallel: the crash-point hooks are the process's, and a
// parallel test's writes would hit them too.
func TestShutdownDuringWriteBack(t *testing.T) {
	r := newRig(t)
	dns := r.seed(t)
	e := r.engine(t, nil)
	r.cycle(t, e)
	r.edit(t, "staff0", true, ums.FieldValue{Field: ums.FieldExtension, Value: "4901"})
	r.edit(t, "staff1", true, ums.FieldValue{Field: ums.FieldExtension, Value: "4902"})

	// Stopped after AD took staff0's write: recorded, and the flush ends
	// there (staff1's stays pending).
	ctx, cancel := context.WithCancel(context.Background())
	remove := crashpoint.OnHit("engine.write-after", cancel)
	err := e.FlushWrites(ctx)
	remove()
	if err != nil {
		t.Fatal(err)
	}
	done, pending := writes(t, r, store.WriteDone), writes(t, r, store.WritePending)
	if len(done) != 1 || len(pending) != 1 {
		t.Fatalf("after the stop: done %+v, pending %+v", done, pending)
	}
	for sam, u := range r.users(t) {
		if u.Anchor == done[0].Anchor {
			if got := r.lab.Values(t, dns[sam], "ipPhone"); !slices.Equal(got, []string{done[0].New}) {
				t.Errorf("AD ipPhone of %s = %v, want %s", sam, got, done[0].New)
			}
		}
	}

	// Stopped before AD answered: pending as before, no attempt counted.
	ctx, cancel = context.WithCancel(context.Background())
	remove = crashpoint.OnHit("engine.write-before", cancel)
	err = e.FlushWrites(ctx)
	remove()
	if err != nil {
		t.Fatal(err)
	}
	if p := writes(t, r, store.WritePending); len(p) != 1 || p[0].Attempts != 0 || p[0].LastError != "" {
		t.Fatalf("a write stopped before AD answered: %+v", p)
	}
	if v := metric(t, r.reg, "umsync_directory_writes_total", "result", "retried"); v != 0 {
		t.Errorf("writes_total{retried} = %v, want 0", v)
	}
	// The next flush sends it.
	if err := e.FlushWrites(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := writes(t, r, store.WriteDone); len(d) != 2 {
		t.Errorf("done after the restart: %+v", d)
	}
}
