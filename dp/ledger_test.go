package dp_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLedgerRefusesOverBudget(t *testing.T) {
	l, err := dp.NewLedger(1.0, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	var last float64
	rounds := 0
	for {
		spent, err := l.Charge(0.01, 1.0, 0)
		if err != nil {
			var e *secagg.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, secagg.CodeConflict, e.Code)
			b, _ := json.Marshal(err)
			assert.Contains(t, string(b), `"status_code":409`)
			assert.Equal(t, last, spent, "a refused round reports the ε already spent")
			break
		}
		require.Greater(t, spent, last)
		last = spent
		rounds++
		require.Less(t, rounds, 100000)
	}
	eps, n := l.Spent()
	assert.Equal(t, rounds, n, "the refused round was not recorded")
	assert.Equal(t, last, eps)
	assert.LessOrEqual(t, eps, 1.0)
	// The ledger agrees with the closed form.
	want, _, err := dp.EpsilonAfter(0.01, 1.0, rounds, 1e-5, nil, dp.Improved)
	require.NoError(t, err)
	assert.InEpsilon(t, want, eps, 1e-9)
	t.Logf("budget ε=1 at δ=1e-5, q=0.01, z=1: %d rounds, ε spent %.4f", rounds, eps)

	// Bad parameters are validation errors and record nothing.
	_, err = l.Charge(2, 1, 0)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, n2 := l.Spent()
	assert.Equal(t, n, n2)
}

func TestLedgerConcurrent(t *testing.T) {
	l, err := dp.NewLedger(1e9, 1e-5, dp.Classic, nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				_, err := l.Charge(0.02, 1.1, 10)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	eps, n := l.Spent()
	assert.Equal(t, 200, n)
	want, _, _ := dp.EpsilonAfter(0.02, 1.1, 200, 1e-5, nil, dp.Classic)
	assert.InEpsilon(t, want, eps, 1e-9)
	_, err = dp.NewLedger(0, 1e-5, dp.Improved, nil)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}
