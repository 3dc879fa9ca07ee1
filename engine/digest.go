package engine

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"sync"

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

// blake3s are hashers to reuse: each holds about 10 KB, and a run of 5,000
// rules makes two for each key, and one for each file it reads.
var blake3s = sync.Pool{New: func() any { return blake3.New() }}

// pooledHasher returns a Hasher and the function that gives it back once
// its Sum is taken: it must not be used after.
func pooledHasher() (*Hasher, func()) {
	b := blake3s.Get().(*blake3.Hasher)
	b.Reset()
	return &Hasher{h: b}, func() { blake3s.Put(b) }
}

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
	h := blake3s.Get().(*blake3.Hasher)
	h.Reset()
	defer blake3s.Put(h)
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	// Through a buffer of its own: io.Copy from an *os.File would make a
	// new 32 KiB one for every file.
	if _, err := io.CopyBuffer(struct{ io.Writer }{h}, struct{ io.Reader }{r}, *buf); err != nil {
		return Digest{}, err
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// copyBufs are the buffers HashReader reads through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// HashBytes returns the digest of b.
func HashBytes(b []byte) Digest { return blake3.Sum256(b) }
