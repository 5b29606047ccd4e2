// Package eventid maps sequence numbers to eventIds and back. To a
// receiver an eventId is a version 4 UUID, 122 bits that look random; to
// the store that made it, it is a sequence number it can index in order.
// The map is a keyed permutation of those 122 bits (an alternating
// Feistel network whose rounds are AES-256 under the store's secret key),
// so different sequence numbers always give different eventIds, and
// without the key the eventIds of consecutive numbers cannot be told
// from random ones.
package eventid

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"
)

// KeySize is the length of a key, in bytes.
const KeySize = 32

// MaxSeq is the largest sequence number a Perm maps.
const MaxSeq = 1<<62 - 1

// rounds is the number of Feistel rounds, each changing one of the two
// parts of the 122 bits.
const rounds = 10

const (
	mask60 = 1<<60 - 1
	mask62 = 1<<62 - 1
)

// A Perm is the permutation under one key. It is safe for concurrent use.
type Perm struct {
	b cipher.Block
}

// New returns the permutation under key, which must be KeySize bytes.
func New(key []byte) (*Perm, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("eventid: the key must be %d bytes, got %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("eventid: %w", err)
	}
	return &Perm{b: b}, nil
}

// round returns the round function of round r at x: 64 bits of AES's
// encryption of (r, x), of which the caller keeps the part's width.
func (p *Perm) round(buf *[32]byte, r int, x uint64) uint64 {
	in, out := buf[:16], buf[16:]
	clear(in)
	in[0] = byte(r)
	binary.BigEndian.PutUint64(in[8:], x)
	p.b.Encrypt(out, in)
	return binary.BigEndian.Uint64(out)
}

// UUID returns the eventId of seq, which must be at most MaxSeq (it is
// masked to 62 bits): a version 4, variant 10 UUID.
func (p *Perm) UUID(seq uint64) uuid.UUID {
	var buf [32]byte
	a, c := uint64(0), seq&mask62
	for r := range rounds {
		if r%2 == 0 {
			a ^= p.round(&buf, r, c) & mask60
		} else {
			c ^= p.round(&buf, r, a) & mask62
		}
	}
	// a fills the first 64 bits but the version's 4, c the last 64 but
	// the variant's 2.
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], a>>12<<16|0x4000|a&0xfff)
	binary.BigEndian.PutUint64(u[8:], 1<<63|c)
	return u
}

// Seq returns the sequence number whose eventId is u, and true; or false
// if u is not one (not a version 4, variant 10 UUID, or one that no
// sequence number up to MaxSeq maps to, as all but one in 2^60 random
// UUIDs are not).
func (p *Perm) Seq(u uuid.UUID) (uint64, bool) {
	if u[6]>>4 != 4 || u[8]>>6 != 2 {
		return 0, false
	}
	hi, lo := binary.BigEndian.Uint64(u[:8]), binary.BigEndian.Uint64(u[8:])
	a, c := hi>>16<<12|hi&0xfff, lo&mask62
	var buf [32]byte
	for r := rounds - 1; r >= 0; r-- {
		if r%2 == 0 {
			a ^= p.round(&buf, r, c) & mask60
		} else {
			c ^= p.round(&buf, r, a) & mask62
		}
	}
	if a != 0 {
		return 0, false
	}
	return c, true
}
