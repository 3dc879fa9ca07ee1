package engine

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"
)

// A no-op record reads back as written; one whose body is cut short or
// padded (with a valid checksum, as a bug or a hand edit would leave it)
// is refused, never half-trusted.
func TestNoopRecordEncoding(t *testing.T) {
	dir := t.TempDir()
	r := &noopRecord{command: HashBytes([]byte("c")), state: HashBytes([]byte("s")),
		env: []noopEnv{{name: "HOME", sum: HashBytes([]byte("h")), set: true}}, rules: []string{"a", "b"}}
	r.addStat(noopStat{path: filepath.Join(dir, "f"), st: fileStat{Size: 3, Mtime: 4, Ctime: 5, Ino: 6}})
	r.addStat(noopStat{path: filepath.Join(dir, "gone"), missing: true})
	data := encodeNoop(r)
	got, err := decodeNoop(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.command != r.command || got.state != r.state || !slices.Equal(got.rules, r.rules) || len(got.env) != 1 || got.env[0] != r.env[0] || !bytes.Equal(got.stats, r.stats) {
		t.Errorf("decoded %+v, want %+v", got, r)
	}
	body := data[:len(data)-len(Digest{})]
	for name, b := range map[string][]byte{
		"cut in the rules": body[:len(noopMagic)+2*len(Digest{})+1+4+len(Digest{})+1+1],
		"cut in the env":   body[:len(noopMagic)+2*len(Digest{})+1+2],
	} {
		sum := HashBytes(b)
		if _, err := decodeNoop(append(slices.Clone(b), sum[:]...)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// Stats cut inside an entry are not trusted.
	if statsUnchanged(r.stats[:len(r.stats)-1]) {
		t.Error("stats cut short were trusted")
	}
}
