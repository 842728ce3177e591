package dp

import (
	"math"
	"sync"

	"github.com/octomil/secagg"
)

// Ledger tracks the privacy a training run has spent, round by round, against a budget
// (ε, δ). The engine charges it once per finalised round, before any noise is drawn; a
// round that would take the spent ε above the budget is refused with a conflict error
// (the request conflicts with the state of the ledger) and nothing is recorded. It is
// safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	budget float64
	delta  float64
	conv   Conversion
	orders []float64
	rdp    []float64 // RDP spent so far, per order
	rounds int
}

// NewLedger returns an empty ledger with a budget of budgetEpsilon at delta, converting
// RDP with conv over DefaultOrders.
func NewLedger(budgetEpsilon, delta float64, conv Conversion) (*Ledger, error) {
	if err := secagg.ValidateEpsilon(budgetEpsilon); err != nil {
		return nil, err
	}
	if err := secagg.ValidateDelta(delta); err != nil {
		return nil, err
	}
	orders := DefaultOrders()
	return &Ledger{budget: budgetEpsilon, delta: delta, conv: conv, orders: orders, rdp: make([]float64, len(orders))}, nil
}

// Charge records one round of the subsampled Gaussian mechanism with sample rate q and
// noise multiplier z and returns the ε spent after it. A round that would exceed the
// budget is a conflict error and leaves the ledger as it was.
func (l *Ledger) Charge(q, z float64) (spent float64, err error) {
	step, err := RDP(q, z, l.orders)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := make([]float64, len(step))
	for i := range step {
		next[i] = l.rdp[i] + step[i]
	}
	eps, _, err := Epsilon(next, l.orders, l.delta, l.conv)
	if err != nil {
		return 0, err
	}
	if eps > l.budget || math.IsInf(eps, 1) {
		now, _, _ := Epsilon(l.rdp, l.orders, l.delta, l.conv)
		return now, secagg.Errorf(secagg.CodeConflict, "epsilon",
			"round %d would spend epsilon %.6g of a budget of %g at delta %g (spent so far %.6g)",
			l.rounds+1, eps, l.budget, l.delta, now)
	}
	l.rdp, l.rounds = next, l.rounds+1
	return eps, nil
}

// Spent returns the ε spent so far at the ledger's δ and the rounds charged.
func (l *Ledger) Spent() (epsilon float64, rounds int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	eps, _, _ := Epsilon(l.rdp, l.orders, l.delta, l.conv)
	return eps, l.rounds
}

// Budget returns the ledger's (ε, δ) budget.
func (l *Ledger) Budget() (epsilon, delta float64) { return l.budget, l.delta }
