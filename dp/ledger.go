package dp

import (
	"math"
	"slices"
	"sync"

	"github.com/octomil/secagg"
)

// Ledger tracks the privacy a training run has spent, round by round, against a budget
// (ε, δ). The engine charges it once per finalised round, before any noise is drawn; a
// round that would take the spent ε above the budget is refused with a conflict error
// (the request conflicts with the state of the ledger) and nothing is recorded. The δ
// of the budget covers the samplers too: each value released adds TailMass, and the
// RDP is converted at what remains. It is safe for concurrent use.
type Ledger struct {
	mu           sync.Mutex
	budget       float64
	delta        float64
	conv         Conversion
	orders       []float64
	rdp          []float64 // RDP spent so far, per order
	samplerDelta float64   // the samplers' share of δ so far
	rounds       int
	// The last round's parameters and RDP: a run charges the same round again and again.
	lastQ, lastZ float64
	lastStep     []float64
}

// NewLedger returns an empty ledger with a budget of budgetEpsilon at delta, converting
// RDP with conv over orders (nil: DefaultOrders).
func NewLedger(budgetEpsilon, delta float64, conv Conversion, orders []float64) (*Ledger, error) {
	if err := secagg.ValidateEpsilon(budgetEpsilon); err != nil {
		return nil, err
	}
	if err := secagg.ValidateDelta(delta); err != nil {
		return nil, err
	}
	if orders == nil {
		orders = DefaultOrders()
	}
	if err := validateOrders(orders); err != nil {
		return nil, err
	}
	orders = slices.Clone(orders)
	return &Ledger{budget: budgetEpsilon, delta: delta, conv: conv, orders: orders, rdp: make([]float64, len(orders))}, nil
}

// Charge records one round of the subsampled Gaussian mechanism with sample rate q and
// noise multiplier z that releases coordinates noisy values, and returns the ε spent
// after it. A round that would exceed the budget is a conflict error and leaves the
// ledger as it was.
func (l *Ledger) Charge(q, z float64, coordinates int) (spent float64, err error) {
	if coordinates < 0 {
		return 0, secagg.Errorf(secagg.CodeValidation, "coordinates", "coordinates must be >= 0, got %d", coordinates)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	step := l.lastStep
	if step == nil || q != l.lastQ || z != l.lastZ {
		if step, err = RDP(q, z, l.orders); err != nil {
			return 0, err
		}
		l.lastQ, l.lastZ, l.lastStep = q, z, step
	}
	return l.charge(step, coordinates, true)
}

// ChargeRDP records one round of any mechanism by its RDP at the ledger's Orders, whose
// exact samplers drew values noisy values (each adds TailMass to δ), and returns the ε
// spent after it. A round that would exceed the budget is a conflict error and leaves
// the ledger as it was. With record false it only checks: a round asks before any
// client adds noise, and charges when it is finalised.
func (l *Ledger) ChargeRDP(step []float64, values int, record bool) (spent float64, err error) {
	if values < 0 {
		return 0, secagg.Errorf(secagg.CodeValidation, "values", "values must be >= 0, got %d", values)
	}
	if len(step) != len(l.orders) {
		return 0, secagg.Errorf(secagg.CodeBadRequest, "rdp", "rdp has %d values for the ledger's %d orders", len(step), len(l.orders))
	}
	for i, r := range step {
		if !(r >= 0) {
			return 0, secagg.Errorf(secagg.CodeValidation, "rdp", "rdp[%d] must be >= 0, got %v", i, r)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.charge(step, values, record)
}

// Orders returns the ledger's Rényi orders.
func (l *Ledger) Orders() []float64 { return slices.Clone(l.orders) }

// charge adds step (and values' sampler tails) to the ledger if that stays within the
// budget and record is set; l.mu is held.
func (l *Ledger) charge(step []float64, values int, record bool) (float64, error) {
	next := make([]float64, len(step))
	for i := range step {
		next[i] = l.rdp[i] + step[i]
	}
	samplers := l.samplerDelta + float64(values)*TailMass
	eps := math.Inf(1)
	if samplers < l.delta {
		var err error
		if eps, _, err = Epsilon(next, l.orders, l.delta-samplers, l.conv); err != nil {
			return 0, err
		}
	}
	if eps > l.budget || math.IsInf(eps, 1) {
		now := l.spent()
		return now, secagg.Errorf(secagg.CodeConflict, "epsilon",
			"round %d would spend epsilon %.6g of a budget of %g at delta %g (spent so far %.6g)",
			l.rounds+1, eps, l.budget, l.delta, now)
	}
	if record {
		l.rdp, l.samplerDelta, l.rounds = next, samplers, l.rounds+1
	}
	return eps, nil
}

func (l *Ledger) spent() float64 {
	eps, _, _ := Epsilon(l.rdp, l.orders, l.delta-l.samplerDelta, l.conv)
	return eps
}

// Spent returns the ε spent so far at the ledger's δ and the rounds charged.
func (l *Ledger) Spent() (epsilon float64, rounds int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spent(), l.rounds
}

// Budget returns the ledger's (ε, δ) budget.
func (l *Ledger) Budget() (epsilon, delta float64) { return l.budget, l.delta }
