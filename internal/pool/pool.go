// Package pool recycles the scratch slices the kernels need on every call, so a round
// allocates nothing that grows with its size after the first.
package pool

import (
	"runtime"
	"sync"
	"weak"
)

// Slices hands out *[]T of a requested length, reusing returned ones that are large
// enough. The zero value is ready to use; it is safe for concurrent use.
//
// It is not a sync.Pool because a sync.Pool keeps a returned slice in the returning P's
// private slot, which a goroutine running on another P cannot take: with one large
// buffer per round, every other round got a fresh one, and here a fresh 16 MiB buffer's
// page faults cost 50 ms, three times the sum that fills it. Like a sync.Pool, Slices
// leaves a returned slice to the garbage collector: it holds it until the next
// collection and then only weakly, so one not taken again within two collections is
// freed.
type Slices[T any] struct {
	mu   sync.Mutex
	free []weak.Pointer[[]T] // newest last
}

// maxFree bounds how many returned slices are remembered; the oldest is forgotten first.
const maxFree = 64

// sentinel is what a returned slice's strong hold hangs on: unreachable from the start,
// it is collected at the next collection, and its cleanup then lets go of the slice.
// (It holds a pointer so that it is never batched with other small objects, whose
// cleanups could wait for their neighbours.)
type sentinel struct{ _ *byte }

// Get returns a slice of length n; its contents are whatever the last user left.
func (s *Slices[T]) Get(n int) *[]T {
	s.mu.Lock()
	for i := len(s.free) - 1; i >= 0; i-- {
		p := s.free[i].Value()
		if p != nil && cap(*p) < n {
			continue
		}
		s.free = append(s.free[:i], s.free[i+1:]...)
		if p != nil {
			s.mu.Unlock()
			*p = (*p)[:n]
			return p
		}
	}
	s.mu.Unlock()
	b := make([]T, n)
	return &b
}

// Put returns a slice for reuse; the caller must not use it afterwards.
func (s *Slices[T]) Put(p *[]T) {
	runtime.AddCleanup(new(sentinel), func(*[]T) {}, p)
	s.mu.Lock()
	if len(s.free) == maxFree {
		s.free = append(s.free[:0], s.free[1:]...)
	}
	s.free = append(s.free, weak.Make(p))
	s.mu.Unlock()
}
