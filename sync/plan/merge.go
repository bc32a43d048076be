package plan

import "fmt"

// Direction says which side masters a UMS field.
type Direction string

// Directions.
const (
	// FromDirectory: AD masters the field; the store follows.
	FromDirectory Direction = "from_directory"
	// ToDirectory: umsync masters the field and writes it to AD.
	ToDirectory Direction = "to_directory"
	// Both: edited on both sides; a change on one side goes to the other,
	// different changes on both follow the field's Policy.
	Both Direction = "both"
)

// Policy settles different changes on both sides of a Both field.
type Policy string

// Policies.
const (
	DirectoryWins Policy = "directory_wins"
	StoreWins     Policy = "store_wins"
	// Manual records a conflict and changes neither side until an admin
	// resolves it.
	Manual Policy = "manual"
)

// Rule is how one field is synchronized.
type Rule struct {
	Direction Direction
	Policy    Policy // for Both
}

// Validate reports a rule that is not one of the known combinations.
func (r Rule) Validate() error {
	switch r.Direction {
	case FromDirectory, ToDirectory:
		return nil
	case Both:
		switch r.Policy {
		case DirectoryWins, StoreWins, Manual:
			return nil
		}
		return fmt.Errorf("policy must be directory_wins, store_wins or manual, got %q", r.Policy)
	}
	return fmt.Errorf("direction must be from_directory, to_directory or both, got %q", r.Direction)
}

// Side is one field's value on one side, and whether the field has one at
// all (a base exists only once both sides agreed).
type Side struct {
	Value string
	Known bool
}

// Merged is the outcome of a three-way merge of one field.
type Merged struct {
	// Store is the value the store keeps.
	Store string
	// WriteDirectory: the directory must be changed from its current value
	// to Store (a write-back with the current value as precondition). The
	// base moves to Store only once the write succeeded.
	WriteDirectory bool
	// Base is the new base (the value both sides agree on) when BaseSet.
	Base    string
	BaseSet bool
	// Conflict: both sides changed differently and the policy is Manual;
	// neither side changes, the conflict is recorded.
	Conflict bool
}

// Merge decides one field from its directory value, its store value and its
// base — the last value both sides agreed on. The store value is the UMS
// side: what admins set through umsync (or the UMS wrote). The cases:
//
//	from_directory       store := directory; base := directory
//	to_directory         directory differs from store → write store to directory
//	both, sides agree    base := that value
//	both, no base yet    store empty → take directory; directory empty →
//	                     write store; else both "changed": the policy decides
//	both, one side moved the other follows (store := directory, or a write)
//	both, both moved     directory_wins | store_wins | manual (a conflict)
func Merge(r Rule, dir, store string, base Side) Merged {
	agree := Merged{Store: dir}
	if !base.Known || base.Value != dir {
		agree.Base, agree.BaseSet = dir, true
	}
	takeDir := Merged{Store: dir, Base: dir, BaseSet: true}
	write := Merged{Store: store, WriteDirectory: true}
	if dir == store {
		return agree
	}
	switch r.Direction {
	case FromDirectory:
		return takeDir
	case ToDirectory:
		return write
	}
	switch {
	case !base.Known && store == "":
		return takeDir
	case !base.Known && dir == "":
		return write
	case base.Known && dir == base.Value:
		return write // only the store side changed
	case base.Known && store == base.Value:
		return takeDir // only the directory side changed
	}
	switch r.Policy {
	case DirectoryWins:
		return takeDir
	case StoreWins:
		return write
	}
	return Merged{Store: store, Conflict: true}
}
