package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// The state file is a small binary format, decoded in a few milliseconds
// even for tens of thousands of files (a no-op run pays for it every time):
// uvarint-prefixed strings, fixed 32-byte digests, varints for numbers.

func encodeState(sf *stateFile) []byte {
	paths := slices.Sorted(maps.Keys(sf.Files))
	buf := make([]byte, 0, 64+120*len(sf.Files)+128*len(sf.Rules))
	return appendState(buf, sf.Rules, paths, func(p string) fileStat { return sf.Files[p] })
}

// appendState appends to buf the encoding of the rules and of the stat
// cache entries of paths (sorted, each once) that file returns: what
// encodeState writes, without a map of the entries to keep.
func appendState(buf []byte, rules map[string]*RuleState, paths []string, file func(string) fileStat) []byte {
	w := &stateWriter{buf: buf}
	names := make([]string, 0, len(rules))
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	w.uint(uint64(len(names)))
	for _, n := range names {
		rs := rules[n]
		w.str(n)
		w.digest(rs.Key)
		w.digest(rs.Def)
		w.int(rs.Finished.UnixNano())
		w.int(int64(rs.Duration))
		w.sums(rs.Inputs)
		w.sums(rs.Outputs)
		w.digests(rs.Deps)
		w.digests(rs.Secrets)
	}
	w.uint(uint64(len(paths)))
	for _, p := range paths {
		fs := file(p)
		w.str(p)
		w.int(fs.Size)
		w.int(fs.Mtime)
		w.int(fs.Ctime)
		w.uint(fs.Ino)
		racy := uint64(0)
		if fs.Racy {
			racy = 1
		}
		w.uint(racy)
		w.digest(fs.Sum)
	}
	// Added after the files, and only when a shared module declared a
	// rule, so that a state file without any reads as it did before
	// modules were recorded (and older ferry versions read it): for each
	// such rule, its own definition's digest and its modules.
	var stamped []string
	for _, n := range names {
		if len(rules[n].Modules) > 0 {
			stamped = append(stamped, n)
		}
	}
	if len(stamped) > 0 {
		w.uint(uint64(len(stamped)))
		for _, n := range stamped {
			rs := rules[n]
			w.str(n)
			w.digest(rs.OwnDef)
			w.uint(uint64(len(rs.Modules)))
			for _, m := range rs.Modules {
				w.str(m.Alias)
				w.str(m.Hash)
				w.str(m.Version)
			}
		}
	}
	return w.buf
}

func decodeStatePayload(b []byte, sf *stateFile) error {
	r := &stateReader{buf: b}
	n := r.count()
	sf.Rules = make(map[string]*RuleState, n)
	for i := 0; i < n && r.err == nil; i++ {
		name := r.str()
		rs := &RuleState{Key: r.digest(), Def: r.digest()}
		rs.Finished = time.Unix(0, r.int())
		rs.Duration = time.Duration(r.int())
		rs.Inputs = r.sums()
		rs.Outputs = r.sums()
		rs.Deps = r.digests()
		if rs.Secrets = r.digests(); len(rs.Secrets) == 0 {
			rs.Secrets = nil
		}
		sf.Rules[name] = rs
	}
	nf := r.count()
	sf.Files = make(map[string]fileStat, nf)
	for i := 0; i < nf && r.err == nil; i++ {
		p := r.str()
		fs := fileStat{Size: r.int(), Mtime: r.int(), Ctime: r.int(), Ino: r.uint(), Racy: r.uint() == 1}
		fs.Sum = r.digest()
		sf.Files[p] = fs
	}
	if r.err == nil && len(r.buf) > 0 {
		ns := r.count()
		for i := 0; i < ns && r.err == nil; i++ {
			name, own := r.str(), r.digest()
			mods := make([]ModuleStamp, r.count())
			for j := range mods {
				mods[j] = ModuleStamp{Alias: r.str(), Hash: r.str(), Version: r.str()}
			}
			if rs := sf.Rules[name]; rs != nil && r.err == nil {
				rs.OwnDef, rs.Modules = own, mods
			} else if r.err == nil {
				r.fail(fmt.Errorf("modules recorded for rule %q, which the state does not hold", name))
			}
		}
	}
	if r.err == nil && len(r.buf) != 0 {
		r.err = errors.New("trailing bytes")
	}
	return r.err
}

type stateWriter struct{ buf []byte }

func (w *stateWriter) uint(v uint64)   { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *stateWriter) int(v int64)     { w.buf = binary.AppendVarint(w.buf, v) }
func (w *stateWriter) digest(d Digest) { w.buf = append(w.buf, d[:]...) }
func (w *stateWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// digests writes a map of names to digests, sorted by name.
func (w *stateWriter) digests(m map[string]Digest) {
	names := slices.Sorted(maps.Keys(m))
	w.uint(uint64(len(names)))
	for _, n := range names {
		w.str(n)
		w.digest(m[n])
	}
}

func (w *stateWriter) sums(fs []FileSum) {
	w.uint(uint64(len(fs)))
	for _, f := range fs {
		w.str(f.Path)
		w.digest(f.Sum)
	}
}

// stateReader decodes what stateWriter wrote; the first error sticks and
// every later read returns zero values.
type stateReader struct {
	buf []byte
	err error
}

var errShort = errors.New("unexpected end of data")

func (r *stateReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.buf = nil
}

func (r *stateReader) uint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *stateReader) int() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads a length, refusing one larger than the bytes left could hold.
func (r *stateReader) count() int {
	v := r.uint()
	if v > uint64(len(r.buf)) {
		r.fail(errShort)
		return 0
	}
	return int(v)
}

func (r *stateReader) str() string {
	n := r.count()
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *stateReader) digest() Digest {
	var d Digest
	if len(r.buf) < len(d) {
		r.fail(errShort)
		return d
	}
	copy(d[:], r.buf)
	r.buf = r.buf[len(d):]
	return d
}

// digests reads what stateWriter.digests wrote; the map is never nil.
func (r *stateReader) digests() map[string]Digest {
	n := r.count()
	m := make(map[string]Digest, n)
	for i := 0; i < n && r.err == nil; i++ {
		name := r.str()
		m[name] = r.digest()
	}
	return m
}

func (r *stateReader) sums() []FileSum {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]FileSum, n)
	for i := range out {
		out[i] = FileSum{Path: r.str(), Sum: r.digest()}
	}
	return out
}
