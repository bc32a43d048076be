// Package ums is the domain of umsync: a UMS user as the Unified Messaging
// system sees it — its lifecycle and license state, the merge base of its
// fields — the rules for its phone numbers and extension (Validate), and
// the format of its UMS settings (voicemail access and lock, services,
// rings, language, license type, call forwarding, do-not-disturb, profile)
// as umsync keeps them in one directory attribute, settings profiles and a
// user's overrides of them (effective settings = profile + overrides), the
// MiVoice voicemail digit rule, the voicemail PIN policy and the kinds of
// mail a user gets; how a user is named to people (DisplayName, Label, with
// control characters stripped) and its JSON view with effective settings
// (UserView), which `users list/show --output json` and the API print alike.
// The two-way vocabulary lives here too: a directory write of one field
// (FieldWrite) and a conflict of one field (FieldConflict). sync/plan
// decides them and the store persists them as they are, with no copy in
// between: both import ums, and neither may import the other (the store
// must not depend on reconciliation, the plan must not do I/O).
//
// It imports nothing of ours and does no I/O, so every rule here is a pure
// function that table tests can pin down. Adapters (directory, store) convert
// to and from these types; sync/plan reasons only in them.
package ums
