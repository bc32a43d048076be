// Package ums is the domain of umsync: a UMS user as the Unified Messaging
// system sees it — its lifecycle and license state, the merge base of its
// fields — the rules for its phone numbers and extension (Validate), and
// the format of its UMS settings (voicemail access and lock, services,
// rings, language, license type, call forwarding, do-not-disturb, profile)
// as umsync keeps them in one directory attribute, settings profiles and a
// user's overrides of them (effective settings = profile + overrides), the
// MiVoice voicemail digit rule, the voicemail PIN policy and the kinds of
// mail a user gets; how a user is named to people (DisplayName, Label, with
// control characters stripped); the one table of a user's fields
// (UserFields) that the store's columns, the export file (userfile) and the
// JSON view (UserView, which `users list/show --output json` and the API
// print alike) are all written and read by.
//
// It imports nothing of ours and does no I/O, so every rule here is a pure
// function that table tests can pin down. Adapters (directory, store) convert
// to and from these types; sync/plan reasons only in them.
package ums
