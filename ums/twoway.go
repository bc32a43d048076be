package ums

// FieldWrite is one field of a user to change in the directory (write-back):
// from Old, the directory value it was planned against (the modify's
// precondition), to New. sync/plan decides it; the store queues it as is.
type FieldWrite struct {
	Field    Field
	Old, New string
}

// FieldConflict is one field of a user changed differently on both sides
// under the manual policy: neither side is changed until an admin resolves
// it. Base is the value both sides last agreed on (none when !HasBase).
// sync/plan finds it; the store records it as is.
type FieldConflict struct {
	Field            Field
	Directory, Store string
	Base             string
	HasBase          bool
}
