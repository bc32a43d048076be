// Package plan is umsync's pure reconciliation: given the users read from
// the directory and the users in the store, it returns what a cycle would
// change — creations, updates, deactivations, reactivations — without doing
// any I/O. Dry-run prints a Plan; sync/engine applies it.
//
// Safety rules live here too: an empty read while the store has users is
// refused (ErrEmptyRead), because a failed or empty read must never look like
// "everyone was deleted".
package plan
