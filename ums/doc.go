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
// The two-way vocabulary lives here too: a directory write of one field
// (FieldWrite) and a conflict of one field (FieldConflict). sync/plan
// decides them and the store persists them as they are, with no copy in
// between: both import ums, and neither may import the other (the store
// must not depend on reconciliation, the plan must not do I/O).
// A list (fax and alias numbers) is a []string in User and in every
// record of a whole user: the store's column (a JSON array), UserView and
// the export's JSON (arrays). It is joined at two edges only: the
// export's CSV (one cell, ";", in userfile) and one field's value as text
// (Get, JoinList: ","), which the merge base (the store keeps it as a
// JSON object of such texts), FieldWrite and FieldConflict (kept as text
// by the store, printed by `runs --writes` and `conflicts list`), Change
// (dry runs, logs, the audit trail) and `users set fax_numbers=a,b`
// carry; the directory splits a FieldWrite back (SplitList). That text is
// stored, so its form is part of the database's format.
//
// It owns the UMS sections of the config file (config.go): license:,
// extensions:, validation:, profiles: and voicemail:, each with a Validate
// that names every problem by its YAML path and changes nothing, and
// Config.Parse, which the binary runs once per config load and whose Rules
// (seats, the extension pool's ranges, limits, profiles in priority order,
// the PIN policy) the sync engine, the CLI, the API and the mail worker all
// use. The extension range (Range, ParseRange) lives here rather than in
// sync/plan, which assigns numbers from it: a range is a value of the
// config like the others, and the one package that checks the UMS sections
// must be able to parse all of them without importing the planner.
// Profiles' group DNs are checked by a function the caller passes
// (directory.CheckDN), so ums needs no LDAP library.
//
// It imports nothing of ours and does no I/O, so every rule here is a pure
// function that table tests can pin down. Adapters (directory, store) convert
// to and from these types; sync/plan reasons only in them.
package ums
