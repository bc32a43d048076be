// Package ums is the domain of umsync: a UMS user as the Unified Messaging
// system sees it, its lifecycle state and the rules for its phone numbers.
//
// It imports nothing of ours and does no I/O, so every rule here is a pure
// function that table tests can pin down. Adapters (directory, store) convert
// to and from these types; sync/plan reasons only in them.
package ums
