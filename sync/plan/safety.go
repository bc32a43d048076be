package plan

import (
	"errors"
	"fmt"
)

// ErrMassDeactivation stops a cycle that would deactivate more users than
// the safety limits allow; an admin applies it on purpose with
// `umsync sync --allow-mass-deactivation`.
var ErrMassDeactivation = errors.New("mass deactivation stopped")

// Limits bound how many active users one cycle may deactivate. Zero turns a
// limit off.
type Limits struct {
	MaxDeactivations int
	MaxPercent       float64
}

// CheckSafety returns an error wrapping ErrMassDeactivation, with the
// numbers, when the plan deactivates more than l allows of active users
// (the active users before the cycle).
func (p *Plan) CheckSafety(active int, l Limits) error {
	n := p.Count(Deactivate)
	if n == 0 {
		return nil
	}
	if l.MaxDeactivations > 0 && n > l.MaxDeactivations {
		return fmt.Errorf("%w: the cycle would deactivate %d of %d active users, more than sync.max_deactivations (%d)",
			ErrMassDeactivation, n, active, l.MaxDeactivations)
	}
	if l.MaxPercent > 0 && active > 0 {
		if pct := float64(n) * 100 / float64(active); pct > l.MaxPercent {
			return fmt.Errorf("%w: the cycle would deactivate %d of %d active users (%.1f%%), more than sync.max_deactivation_percent (%g%%)",
				ErrMassDeactivation, n, active, pct, l.MaxPercent)
		}
	}
	return nil
}
