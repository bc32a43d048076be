// Package engine runs umsync's sync cycle — read the directory (full or
// delta), gather the facts the rules need, let sync/plan decide, apply to
// the store in one transaction, then drain the outbox of directory writes —
// records every run, exports the sync metrics, and schedules cycles with
// robfig/cron. The write-back worker runs inside the cycle, after its
// commit, rather than as a goroutine of its own: one connection, one lock,
// and an `umsync sync` drains it as the daemon does.
//
// Engine.Cycle is a list of steps over one cycle value: begin (connect,
// watermark, replan list, delta or full), gather (the phantom and profile
// groups' members), read, plan, checkSafety, apply, report. A full read
// plans page by page while it reads (plan.Stream): the directory's users
// are cut into pages of directory.page_size, and a goroutine asks the
// store for each page's stored rows and plans the page while the next
// page is read (one page queued: the directory waits only when the planner
// falls a page behind); only the changed users are kept, and not in
// memory: each goes to a file (fileShelf: 0600, in the store's folder,
// unlinked as soon as it is created, one JSON record per user) and the
// plan keeps a compact fact of it (104 bytes plus its anchor, name,
// extension and profile strings, against about 1 KB for the row). The rules that rank everyone decide over those facts; the
// apply step walks the plan once (Plan.Each: each staged user read back
// and finished with the decisions) and streams it to the store
// (store.CycleWrite.Planned), which writes it a thousand users at a time
// in the cycle's one transaction. The log walks it once more after the
// commit, and a dry run prints it (Options.Print) before the file goes:
// Result.Plan of a full cycle has the counts, not the users. Measured on
// 2026-12-02, a first sync of 50,000 users into an empty store: peak RSS
// 139 MB when every user was held, 55–57 MB now; the nightly full sync
// (nothing changed) 43 MB, of which ~20 MB is the process doing nothing.
// The plan step finishes the plan and adds the UMS rules (rules.go): for
// each rule the engine only gathers facts — compact projections of the
// store (anchors and states, seats, phantom marks, profile names, numbers
// taken, counts) and of the directory (group members, numbers in use) —
// and sync/plan's pure functions decide what is due and what changes
// (PhantomFlips, ExtensionsDue, ProfileMoves, LicenseDue, NumbersMoved,
// SafetyDue and the Apply* rules). The rows of the stored users a rule
// changes outside the plan are fetched and adopted into it, and only
// those (TestFullSyncHoldsAPageOfRows counts the rows a nightly full
// cycle holds). Rows are still fetched in proportion to what changes: the
// users a full read did not find (a page of rows at a time, staged like
// the read's: plan.Stream.Gone; the safety limits still see them all),
// the eligible users without an extension, every user whose settings a
// changed profile moves.
//
// It parses neither LDAP nor SQL itself. It declares what it needs of the
// directory and the store as small interfaces, one per role, next to the
// code that uses them: DirectoryReader and UserStore (read.go),
// DirectoryFacts and RuleStore (rules.go), DirectoryWriter and WriteOutbox
// (writeback.go), CycleStore, StatusStore and AlertQueue (engine.go);
// Directory and Store only bundle them for New. Only one cycle runs at a
// time, whether started by the schedule, at start-up or by the CLI in the
// same process. The UMS rules (license cap, extension pool, profiles,
// validation) come in as UMSRules, apart from the sync: section's Config;
// Reconfigure swaps both on a config reload. Admin alert mails (safety
// stop, license over cap, failed writes) are queued here; the mail worker
// sends them.
//
// The apply step hands the plan's directory writes and conflicts to the
// store as the plan made them (ums.FieldWrite, ums.FieldConflict, per user
// in a store.UserOutbox), with the fields settled and the extension
// numbers given back; a standby leaves out the writes and conflicts. A
// write ends in one of the store's statuses (store.WriteDone, WriteRejected,
// WriteFailed); umsync_directory_writes_total counts those and "retried".
// A drain stopped by its context (serve stopping) records what it did:
// a write AD confirmed is marked done under a context that does not end,
// and a write AD did not confirm stays pending with no attempt counted (if
// AD took it after all, its precondition rejects it next time and the
// next cycle re-reads the user).
//
// A user that changed in the store while a cycle ran (an admin's edit, an
// import) is not written from the cycle's older plan: the store reports it
// stale, the cycle logs "user changed in the store while the cycle ran"
// and counts umsync_sync_replanned_total, and the next cycle reads that
// user from the directory again by anchor (store.Replan) and plans it
// from its fresh row. Tests pause a cycle between plan and apply with the
// crash-point hook "engine.planned" (crashpoint.OnHit).
package engine
