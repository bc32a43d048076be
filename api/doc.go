// Package api is the HTTP API the UMS calls: the users and their changes
// feed, lookup by number, password and PIN checks, and the admin actions;
// bearer tokens with scopes, rate limits, and the OpenAPI document that
// describes it all (configs/openapi.yaml).
//
// It reads and writes through the store like the CLI's admin commands; it
// must not know about LDAP: a password checked against the directory goes
// through the small PasswordChecker interface, and the CLI's admin actions
// through Actions (cmd runs the same code for both). Every call with a
// token is audited in the background (audit.go), so a call never waits for
// the store's write connection.
package api
