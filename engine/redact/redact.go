// Package redact removes secret values from ferry's output. One Redactor
// holds every secret value resolved so far; Writers wrap each output sink
// and replace the values, and their common encodings, as bytes stream
// through, even when a value is split across writes.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// MinLen is the length of the shortest value a Redactor accepts: shorter
// values would mask ordinary text and could be guessed from what is left.
const MinLen = 8

// A Redactor knows the secret values to remove. It is safe for concurrent
// use; values added are removed from everything written afterwards.
type Redactor struct {
	mu       sync.RWMutex
	patterns []pattern  // longest first
	byFirst  [256][]int // indexes into patterns, by first byte
	seen     map[string]bool
	plain    []pattern // the values as they are (see plainForms); repl unset
}

type pattern struct {
	text []byte
	repl []byte
	name string // of the secret
}

// New returns a Redactor with no values.
func New() *Redactor { return &Redactor{seen: map[string]bool{}} }

// Add registers value, known to people as name. It also registers the
// value's JSON-escaped, base64 (standard and URL alphabets, at every
// alignment), hex and URL-encoded forms, and each line of a multi-line
// value. A value shorter than MinLen is refused.
func (r *Redactor) Add(name, value string) error {
	if len(value) < MinLen {
		return fmt.Errorf("secret %s is %d bytes long; ferry cannot redact values shorter than %d bytes safely: use a longer value", name, len(value), MinLen)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[value] {
		return nil
	}
	r.seen[value] = true
	for _, form := range plainForms(value) {
		r.plain = append(r.plain, pattern{text: []byte(form), name: name})
	}
	repl := []byte("[redacted " + name + "]")
	for _, form := range Forms(value) {
		r.patterns = append(r.patterns, pattern{text: []byte(form), repl: repl, name: name})
	}
	sort.SliceStable(r.patterns, func(i, j int) bool { return len(r.patterns[i].text) > len(r.patterns[j].text) })
	r.byFirst = [256][]int{}
	for i, p := range r.patterns {
		r.byFirst[p.text[0]] = append(r.byFirst[p.text[0]], i)
	}
	return nil
}

// Forms returns the texts that reveal value: the value itself and its
// encodings, each at least MinLen/2 bytes long.
func Forms(value string) []string {
	set := map[string]bool{}
	for _, f := range plainForms(value) {
		set[f] = true
	}
	j, _ := json.Marshal(value)
	set[string(j[1:len(j)-1])] = true
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(value)
	set[strings.TrimSuffix(b.String(), "\n")[1:b.Len()-2]] = true
	set[hex.EncodeToString([]byte(value))] = true
	set[strings.ToUpper(hex.EncodeToString([]byte(value)))] = true
	set[url.QueryEscape(value)] = true
	set[url.PathEscape(value)] = true
	for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for align := 0; align < 3; align++ {
			set[base64At(e, value, align)] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		if len(f) >= MinLen/2 {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// plainForms returns value and, for a multi-line value, each of its lines
// at least MinLen bytes long (without a trailing "\r"): a value as a file
// or a program's output may hold it, trailing newline or not.
func plainForms(value string) []string {
	out := []string{value}
	if !strings.Contains(value, "\n") {
		return out
	}
	for _, line := range strings.Split(value, "\n") {
		if line = strings.TrimSuffix(line, "\r"); len(line) >= MinLen && line != value {
			out = append(out, line)
		}
	}
	return out
}

// base64At returns the part of the base64 encoding of value, preceded by
// align other bytes, that depends on value's bytes alone.
func base64At(e *base64.Encoding, value string, align int) string {
	enc := e.EncodeToString(append(make([]byte, align), value...))
	first := (8*align + 5) / 6
	last := 8 * (align + len(value)) / 6
	return enc[first:last]
}

// String returns s with every registered value replaced.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.patterns) == 0 {
		return s
	}
	out, _ := r.replace([]byte(s))
	return string(out)
}

// Find reports whether s holds a registered value, or one of the forms
// that String would replace, and returns the name it was registered as.
func (r *Redactor) Find(s string) (name string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b := []byte(s)
	for i := range b {
		if p := r.matchAt(b, i); p != nil {
			return p.name, true
		}
	}
	return "", false
}

// replace returns b with every match replaced, and the offset in b after
// the last match.
func (r *Redactor) replace(b []byte) ([]byte, int) {
	var out []byte
	done, end := 0, 0
	for i := 0; i < len(b); {
		p := r.matchAt(b, i)
		if p == nil {
			i++
			continue
		}
		out = append(append(out, b[done:i]...), p.repl...)
		i += len(p.text)
		done, end = i, i
	}
	if out == nil {
		return b, 0
	}
	return append(out, b[done:]...), end
}

func (r *Redactor) matchAt(b []byte, i int) *pattern {
	for _, k := range r.byFirst[b[i]] {
		if bytes.HasPrefix(b[i:], r.patterns[k].text) {
			return &r.patterns[k]
		}
	}
	return nil
}

// held returns how many bytes at the end of b (after offset from) could
// be the start of a registered value, and so must wait for the next write.
func (r *Redactor) held(b []byte, from int) int {
	hold := 0
	for _, p := range r.patterns {
		start := max(from, len(b)-len(p.text)+1)
		for i := start; i < len(b)-hold; i++ {
			j := bytes.IndexByte(b[i:len(b)-hold], p.text[0])
			if j < 0 {
				break
			}
			i += j
			if bytes.HasPrefix(p.text, b[i:]) {
				hold = len(b) - i
				break
			}
		}
	}
	return hold
}

// A Writer redacts what is written through it before passing it on. It
// holds back the end of a write that could be the start of a value until
// the next write shows whether it is; Flush writes it out.
type Writer struct {
	r   *Redactor
	mu  sync.Mutex
	out io.Writer
	buf []byte // held back
}

// Writer returns a Writer passing redacted output to w.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, out: w} }

// Unwrap returns the writer w passes output to.
func (w *Writer) Unwrap() io.Writer { return w.out }

// Write redacts p and writes what is certainly not part of a value. It
// reports len(p) when the underlying write succeeds.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.r.mu.RLock()
	b := append(w.buf, p...)
	out, end := w.r.replace(b)
	hold := w.r.held(out, len(out)-(len(b)-end))
	w.r.mu.RUnlock()
	w.buf = append([]byte(nil), out[len(out)-hold:]...)
	if len(out) == hold {
		return len(p), nil
	}
	if _, err := w.out.Write(out[:len(out)-hold]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out what is held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = nil
	return err
}
