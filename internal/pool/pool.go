// Package pool recycles the scratch slices the kernels need on every call, so a round
// allocates nothing that grows with its size after the first.
package pool

import "sync"

// Slices hands out *[]T of a requested length, reusing returned ones that are large
// enough. The zero value is ready to use; it is safe for concurrent use.
type Slices[T any] struct{ p sync.Pool }

// Get returns a slice of length n; its contents are whatever the last user left.
func (s *Slices[T]) Get(n int) *[]T {
	if p, ok := s.p.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]T, n)
	return &b
}

// Put returns a slice for reuse.
func (s *Slices[T]) Put(p *[]T) { s.p.Put(p) }
