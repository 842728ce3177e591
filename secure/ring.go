package secure

import (
	mrand "math/rand/v2"
	"slices"
)

// ring draws the SecAgg+ graph: the clients (sorted by id) in an order shuffled by
// ChaCha8 from seed (from crypto/rand), each the neighbour of the (k-1)/2 on either
// side; k >= n is the complete graph (SecAgg). It returns each client's neighbourhood,
// itself included, sorted by id.
func ring(ids []uint64, k int, seed [32]byte) map[uint64][]uint64 {
	order := slices.Clone(ids)
	mrand.New(mrand.NewChaCha8(seed)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	n := len(order)
	hoods := make(map[uint64][]uint64, n)
	for p, id := range order {
		if k >= n {
			hoods[id] = slices.Sorted(slices.Values(ids))
			continue
		}
		hood := []uint64{id}
		for d := 1; d <= (k-1)/2; d++ {
			hood = append(hood, order[(p+d)%n], order[(p-d+n)%n])
		}
		slices.Sort(hood)
		hoods[id] = hood
	}
	return hoods
}
