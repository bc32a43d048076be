// Package directory reads Active Directory over LDAP: it dials ldap://,
// ldaps:// or StartTLS with verified TLS, binds, streams a paged search page
// by page (never the whole result in memory), redials a dropped connection,
// and decodes entries (objectGUID → anchor, userAccountControl → enabled,
// the attribute map → ums.User fields, numbers → E.164).
//
// Mapping attributes to UMS fields happens here, at decode time, rather than
// in sync/plan as DESIGN.md's diagram draws it: the attribute names are a
// directory concern, and handing plan finished ums.User values keeps plan
// free of LDAP vocabulary. The mapping itself is pure (Decode) and table-tested.
//
// It knows nothing about SQLite or mail.
package directory
