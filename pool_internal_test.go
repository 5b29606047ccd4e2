package webhook

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestPoolKeepsWhatNoWorkerTakes: claims waiting at close, claims put
// after close (a Claim that was under way when Shutdown began) and claims
// given back all come out of leftovers, none twice.
func TestPoolKeepsWhatNoWorkerTakes(t *testing.T) {
	claim := func() Claim { return Claim{Delivery: Delivery{ID: uuid.New()}} }
	p := newPool(2)
	require.Equal(t, 3, p.room(), "2 workers and 1 waiting")
	a, b, c, late := claim(), claim(), claim(), claim()
	p.put([]Claim{a, b, c})
	require.Equal(t, 0, p.room())
	got, ok := p.take()
	require.True(t, ok)
	require.Equal(t, a.Delivery.ID, got.Delivery.ID, "in claim order")
	require.Equal(t, 0, p.room(), "a taken claim holds its place until done")
	p.done()
	require.Equal(t, 1, p.room())
	got, ok = p.take()
	require.True(t, ok)
	require.Equal(t, b.Delivery.ID, got.Delivery.ID)

	p.close()
	p.close() // harmless
	_, ok = p.take()
	require.False(t, ok, "no claim is taken once closed")
	p.put([]Claim{late})
	p.giveBack(got)
	var ids []uuid.UUID
	for _, l := range p.leftovers() {
		ids = append(ids, l.Delivery.ID)
	}
	require.ElementsMatch(t, []uuid.UUID{c.Delivery.ID, late.Delivery.ID, b.Delivery.ID}, ids)
}
