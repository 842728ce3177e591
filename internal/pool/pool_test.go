package pool_test

import (
	"testing"

	"github.com/octomil/secagg/internal/pool"
	"github.com/stretchr/testify/assert"
)

func TestSlices(t *testing.T) {
	var p pool.Slices[float64]
	a := p.Get(10)
	assert.Len(t, *a, 10)
	(*a)[9] = 7
	p.Put(a)
	b := p.Get(5) // may or may not be a's storage; length is what was asked
	assert.Len(t, *b, 5)
	c := p.Get(1000)
	assert.Len(t, *c, 1000)
}
