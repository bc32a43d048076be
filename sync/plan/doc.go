// Package plan is umsync's pure reconciliation: given the users read from
// the directory and the users in the store, it returns what a cycle would
// change — creations, updates, deactivations, reactivations — without doing
// any I/O. Dry-run prints a Plan; sync/engine applies it.
//
// A delta's plan is built by a Planner (Add per user read, Gone per
// changed object out of scope, then Finish) over the stored rows of just
// those users. A full cycle's plan is built page by page by a Stream:
// each Page brings a page of users read and their stored rows, merges
// them, applies the page rules (phantom marks; which unchanged users a
// settings profile will change) and keeps only the users that change. An
// unchanged user leaves just its anchor behind, so a full cycle of 50,000
// users in step holds one page of rows, never the store. A changed user
// goes to the Shelf the engine gives (a file) and the plan keeps a fact:
// what the rules that rank everyone need to know of it. Those rules
// decide over the facts (which number, which license) and record the
// decisions; Each fetches every staged action and finishes it with them,
// in the order the rules ran (extension, profile settings, license,
// validation), exactly as the rules change an action held in memory
// (TestStagedRulesDecideAsInMemory holds the two ways against each other).
// After the read, Stored tells it of each stored user, Unseen names the
// active ones not read, and Gone stages them deactivated, a page of rows
// at a time. A user read twice
// (it changed during the read) counts once; the later reading wins.
//
// Fields edited on both sides (or mastered by the UMS) go through a
// three-way merge (Merge) against the base, the last value both sides
// agreed on; its outcomes are store values, directory writes and conflicts.
// Directory values umsync cannot read (settings in an unknown format) are a
// per-user problem and left alone on both sides.
//
// The UMS rules are applied to a finished plan, still without I/O: phantom
// users (ApplyPhantoms), the extension pool (AssignExtensions, from the
// ranges ums parses out of extensions.ranges), settings
// profiles (ApplyProfiles: effective settings, the MiVoice digit rule), the
// license cap (ApplyLicenses; free seats by profile priority) and
// validation (Validate); the engine hands them what they need to know of
// the store and the directory as compact facts (Seat, the numbers taken
// as a Taken set of a bit per number of the pool, group members), never
// every stored row. A rule that must change a stored
// user outside the plan says so — ApplyLicenses returns the anchors,
// Profiles.Due tells a row that needs its profile — and the engine brings
// just those rows in (Adopt) before the rule applies. Which of those facts a cycle must gather,
// and over whom a rule runs, is decided here too (due.go): PhantomsDue and
// PhantomFlips (whose phantom mark changed), ExtensionsDue, ProfileMoves
// (who moved to another profile in a delta), LicenseDue, NumbersMoved
// (whether the store must look for duplicate numbers) and SafetyDue
// (whether the active users must be counted for CheckSafety). Mails decides which mails a plan makes due
// (info, password and PIN mails, with idempotency keys); the mail package
// only sends them.
//
// Safety rules live here too (CheckSafety, the mass-deactivation limits): an empty read while the store has users is
// refused (ErrEmptyRead), because a failed or empty read must never look like
// "everyone was deleted".
package plan
