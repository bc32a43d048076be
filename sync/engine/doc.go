// Package engine runs umsync's sync cycle — read the directory, plan, apply
// to the store in one transaction — records every run, exports the sync
// metrics, and schedules cycles with robfig/cron.
//
// It declares the few methods it needs of the directory and the store as
// small interfaces and parses neither LDAP nor SQL itself. Only one cycle
// runs at a time, whether started by the schedule, at start-up or by the CLI
// in the same process.
package engine
