package plan

import (
	"encoding/json"
	"testing"
)

// memShelf keeps staged actions as JSON, as the engine's file does: what
// Get returns is a copy, never the action put, so finishing it twice
// would show.
type memShelf [][]byte

func (m *memShelf) Put(a *Action) (int, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	*m = append(*m, b)
	return len(*m) - 1, nil
}

func (m *memShelf) Get(ref int) (*Action, error) {
	var a Action
	err := json.Unmarshal((*m)[ref], &a)
	return &a, err
}

// materialize brings a plan's staged actions into memory, finished, so a
// test can look at p.Actions whichever way the plan was made.
func materialize(t *testing.T, p *Plan) {
	t.Helper()
	if err := materializeErr(p); err != nil {
		t.Fatal(err)
	}
}
