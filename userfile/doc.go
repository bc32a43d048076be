// Package userfile is the users export file (ixi-UMS' "Users
// export/import", to move to a new server): every user with its UMS data
// and no secret, as JSON (an array of objects; a list of numbers is an
// array of strings, the overrides an object of strings) or CSV (a header
// row, then one row per user; a list joined with ";" in one cell, the one
// place it is joined; the overrides as their JSON text). Read also takes a
// JSON list as one ";"-joined string and the overrides as their JSON text
// in a string, as exports before the arrays and objects wrote them.
//
// Read validates every record before anything is imported and reports
// every problem with its line and field; Write then Read gives the same
// users back, so export → import → export is identical. CSV cells that a
// spreadsheet would run as formulas are neutralized by Write (a leading
// single quote) and restored by Read. Read refuses what a hostile or
// broken file carries: bytes that are not UTF-8, a column or key given
// twice, over-long values (MaxFieldBytes, MaxFileBytes), control
// characters, numbers that are not E.164 (ums.CheckNumber).
//
// It is a package of its own, not part of store or the CLI, because it is a
// pure parser of untrusted input: fuzzed on its own (FuzzReadJSON,
// FuzzReadCSV), knowing neither SQLite nor cobra. DESIGN.md's package table
// did not foresee it; store.ImportUsers applies what it reads.
package userfile
