// Package parallel spreads coordinate-range work over a bounded number of goroutines.
//
// The ranges are fixed by the length and the chunk size alone, never by the number of
// goroutines, so a kernel that computes each range on its own gives bit-identical
// results at every GOMAXPROCS.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var maxWorkers atomic.Int64 // 0: GOMAXPROCS

// SetMaxWorkers bounds the goroutines one call may use (n <= 0 restores the default,
// GOMAXPROCS) and returns the previous bound. It lets a host process that runs its own
// thread pools (numpy, torch) keep the library from oversubscribing the cores.
func SetMaxWorkers(n int) int {
	return int(maxWorkers.Swap(int64(max(n, 0))))
}

// Workers returns how many goroutines a call may use now.
func Workers() int {
	w := runtime.GOMAXPROCS(0)
	if m := int(maxWorkers.Load()); m > 0 {
		w = min(w, m)
	}
	return w
}

// Ranges splits [0, n) into the ranges [lo, lo+chunk) (the last one shorter) and calls
// fn(worker, lo, hi) once for each, on at most workers goroutines including the
// caller's (pass Workers(), after sizing any per-worker scratch by it). worker is in
// [0, workers) and no two concurrent calls share it, so fn may index per-worker scratch
// with it. A panic in fn is raised again in the caller once all goroutines have stopped.
func Ranges(workers, n, chunk int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	tasks := (n + chunk - 1) / chunk
	workers = max(min(workers, tasks), 1)
	if workers == 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(lo+chunk, n))
		}
		return
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		panicked atomic.Pointer[any]
	)
	run := func(worker int) {
		defer func() {
			if r := recover(); r != nil {
				panicked.CompareAndSwap(nil, &r)
				next.Store(int64(tasks)) // stop handing out work
			}
		}()
		for {
			t := int(next.Add(1) - 1)
			if t >= tasks {
				return
			}
			lo := t * chunk
			fn(worker, lo, min(lo+chunk, n))
		}
	}
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(*p)
	}
}
