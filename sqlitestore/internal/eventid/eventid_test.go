package eventid

import (
	"crypto/rand"
	"math/bits"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func newPerm(t testing.TB) *Perm {
	t.Helper()
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	p, err := New(key)
	require.NoError(t, err)
	return p
}

func TestNewRefusesBadKeys(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		_, err := New(make([]byte, n))
		require.Error(t, err, "key of %d bytes", n)
	}
}

// TestRoundTrip checks that consecutive sequence numbers, the largest
// ones and some of every width give distinct version 4 UUIDs that map
// back to them.
func TestRoundTrip(t *testing.T) {
	p := newPerm(t)
	seqs := []uint64{0, 1, MaxSeq, MaxSeq - 1}
	for i := range uint64(20000) {
		seqs = append(seqs, 1<<40|i)
	}
	for w := range 62 {
		seqs = append(seqs, 1<<w, 1<<w|1)
	}
	seen := make(map[uuid.UUID]uint64, len(seqs))
	for _, s := range seqs {
		u := p.UUID(s)
		require.EqualValues(t, 4, u.Version(), "seq %d", s)
		require.Equal(t, uuid.RFC4122, u.Variant(), "seq %d", s)
		got, ok := p.Seq(u)
		require.True(t, ok, "seq %d", s)
		require.Equal(t, s, got)
		if prev, dup := seen[u]; dup {
			require.Equal(t, prev, s, "two sequence numbers gave %s", u)
		}
		seen[u] = s
	}
}

// TestKeysDiffer checks that the same sequence number gives unrelated
// eventIds under two keys, and that one key does not read the other's.
func TestKeysDiffer(t *testing.T) {
	p, q := newPerm(t), newPerm(t)
	for s := range uint64(1000) {
		u := p.UUID(s)
		require.NotEqual(t, u, q.UUID(s))
		if got, ok := q.Seq(u); ok {
			require.NotEqual(t, s, got)
		}
	}
}

// TestForeignUUIDs checks that random version 4 UUIDs, and UUIDs of other
// versions, are not taken for sequence numbers.
func TestForeignUUIDs(t *testing.T) {
	p := newPerm(t)
	for range 20000 {
		_, ok := p.Seq(uuid.New())
		require.False(t, ok)
	}
	u := p.UUID(7)
	v7 := u
	v7[6] = v7[6]&0x0f | 0x70
	_, ok := p.Seq(v7)
	require.False(t, ok, "a version 7 UUID")
	bad := u
	bad[8] &= 0x3f
	_, ok = p.Seq(bad)
	require.False(t, ok, "a UUID of another variant")
}

// TestBitsBalanced checks that the eventIds of consecutive sequence
// numbers look random: each of the 122 free bits is set in about half of
// them, and consecutive ones differ in about half their bits.
func TestBitsBalanced(t *testing.T) {
	p := newPerm(t)
	const n = 20000
	var ones [128]int
	diff := 0
	var prev uuid.UUID
	for s := range uint64(n) {
		u := p.UUID(1<<40 | s)
		for i := range 128 {
			if u[i/8]>>(7-i%8)&1 == 1 {
				ones[i]++
			}
		}
		if s > 0 {
			for i := range 16 {
				diff += bits.OnesCount8(u[i] ^ prev[i])
			}
		}
		prev = u
	}
	for i, c := range ones {
		fixed := (i >= 48 && i < 52) || i == 64 || i == 65 // version, variant
		if fixed {
			continue
		}
		// Binomial(n, 1/2): 5 standard deviations is about 354.
		require.InDelta(t, n/2, c, 354, "bit %d", i)
	}
	mean := float64(diff) / (n - 1)
	require.InDelta(t, 61, mean, 1, "bits changed between consecutive eventIds")
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(0), []byte("0123456789abcdef"))
	f.Add(uint64(MaxSeq), []byte("fedcba9876543210"))
	key := make([]byte, KeySize)
	copy(key, "a fixed key for the fuzz target")
	p, err := New(key)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, seq uint64, raw []byte) {
		seq &= MaxSeq
		got, ok := p.Seq(p.UUID(seq))
		if !ok || got != seq {
			t.Fatalf("seq %d came back as %d, %v", seq, got, ok)
		}
		var u uuid.UUID
		copy(u[:], raw)
		if s, ok := p.Seq(u); ok && p.UUID(s) != u {
			t.Fatalf("%s read as %d, which gives %s", u, s, p.UUID(s))
		}
	})
}

func BenchmarkUUID(b *testing.B) {
	p := newPerm(b)
	var s uint64
	for b.Loop() {
		s++
		_ = p.UUID(s)
	}
}
