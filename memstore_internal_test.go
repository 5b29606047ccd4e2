package webhook

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestItemHeapOrder checks the memory store's heaps against a sorted
// list under random pushes, pops and removals by index: the least item
// comes out first (the ready heap by due time, then enqueue order; the
// leased heap by lease expiry), and every item records its index.
func TestItemHeapOrder(t *testing.T) {
	t.Parallel()
	for _, byLease := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(1, 2))
		h := itemHeap{byLease: byLease}
		key := func(it *memItem) [2]int64 {
			if byLease {
				return [2]int64{it.leaseUntil, 0}
			}
			return [2]int64{it.nextAt, int64(it.seq)}
		}
		var ref []*memItem // what the heap holds
		least := func() *memItem {
			return slices.MinFunc(ref, func(a, b *memItem) int {
				ka, kb := key(a), key(b)
				if ka[0] != kb[0] {
					return int(ka[0] - kb[0])
				}
				return int(ka[1] - kb[1])
			})
		}
		seq := uint64(0)
		for range 5000 {
			switch op := rng.IntN(10); {
			case op < 5 || len(ref) == 0:
				seq++
				it := &memItem{nextAt: rng.Int64N(50), leaseUntil: rng.Int64N(50), seq: seq, index: -1}
				h.push(it)
				ref = append(ref, it)
			case op < 8:
				want := key(least())
				it := h.pop()
				require.Equal(t, want, key(it), "byLease %v", byLease)
				require.EqualValues(t, -1, it.index)
				ref = slices.DeleteFunc(ref, func(x *memItem) bool { return x == it })
			default:
				it := ref[rng.IntN(len(ref))]
				require.Same(t, it, h.remove(int(it.index)))
				require.EqualValues(t, -1, it.index)
				ref = slices.DeleteFunc(ref, func(x *memItem) bool { return x == it })
			}
			require.Equal(t, len(ref), h.Len())
			for i, e := range h.e {
				require.EqualValues(t, i, e.it.index)
			}
			if len(ref) > 0 {
				require.Equal(t, key(least()), key(h.top()))
			}
		}
	}
}
