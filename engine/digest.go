package engine

import (
	"encoding/binary"
	"encoding/hex"
	"io"

	"github.com/zeebo/blake3"
)

// A Digest is a BLAKE3-256 content hash.
type Digest [32]byte

// String returns the digest in hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Short returns the first 12 hex digits, enough to name a version.
func (d Digest) Short() string { return d.String()[:12] }

// IsZero reports whether d is the zero digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// A Hasher builds a digest from a sequence of fields. Each field is
// length-prefixed so that ("ab","c") and ("a","bc") differ.
type Hasher struct {
	h *blake3.Hasher
	// also, when set, receives every field added after Also (see Also).
	also *Hasher
}

// Also has h add every later field to o too, and returns h: the rule's
// key digests its definition after the shared modules that declared it,
// and the definition alone, to tell which one changed.
func (h *Hasher) Also(o *Hasher) *Hasher { h.also = o; return h }

// NewHasher returns a Hasher.
func NewHasher() *Hasher { return &Hasher{h: blake3.New()} }

// String adds a string field.
func (h *Hasher) String(s string) *Hasher {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.h.Write(n[:])
	io.WriteString(h.h, s)
	if h.also != nil {
		h.also.String(s)
	}
	return h
}

// Digest adds a digest field.
func (h *Hasher) Digest(d Digest) *Hasher {
	h.h.Write(d[:])
	if h.also != nil {
		h.also.Digest(d)
	}
	return h
}

// Sum returns the digest of the fields added so far.
func (h *Hasher) Sum() Digest {
	var d Digest
	h.h.Sum(d[:0])
	return d
}

// HashReader returns the digest of everything r yields.
func HashReader(r io.Reader) (Digest, error) {
	h := blake3.New()
	if _, err := io.Copy(h, r); err != nil {
		return Digest{}, err
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// HashBytes returns the digest of b.
func HashBytes(b []byte) Digest { return blake3.Sum256(b) }
