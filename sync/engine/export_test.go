package engine

// OnPage tells fn, after each page of a full read, how many full user
// rows the planner held for it (a test seam: the bound on memory).
func OnPage(e *Engine, fn func(held int)) { e.onPage = fn }
