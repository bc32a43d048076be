// Package engine runs umsync's sync cycle — read the directory (full or
// delta), plan, apply to the store in one transaction, then drain the outbox
// of directory writes — records every run, exports the sync metrics, and
// schedules cycles with robfig/cron. The write-back worker runs inside the
// cycle, after its commit, rather than as a goroutine of its own: one
// connection, one lock, and an `umsync sync` drains it as the daemon does.
//
// It declares the few methods it needs of the directory and the store as
// small interfaces and parses neither LDAP nor SQL itself. Only one cycle
// runs at a time, whether started by the schedule, at start-up or by the CLI
// in the same process. The UMS rules (license cap, extension pool, profiles,
// validation) come in as UMSRules, apart from the sync: section's Config;
// Reconfigure swaps both on a config reload. Admin alert mails (safety
// stop, license over cap, failed writes) are queued here; the mail worker
// sends them.
package engine
