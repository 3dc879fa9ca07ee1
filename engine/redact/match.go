package redact

import (
	"bytes"
	"fmt"
	"io"
)

// A Matcher finds, in bytes, the values a Redactor held when the Matcher
// was made: each value as it is, and each line of a multi-line value, but
// not their encodings, which would turn up by chance in large binary
// files. It is meant for scanning files fast, such as a build context.
type Matcher struct {
	plain  []pattern
	maxLen int
}

// Matcher returns a Matcher of the values r holds, or nil when it holds
// none: there is then nothing to look for.
func (r *Redactor) Matcher() *Matcher {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.plain) == 0 {
		return nil
	}
	m := &Matcher{plain: append([]pattern(nil), r.plain...)}
	for _, p := range m.plain {
		m.maxLen = max(m.maxLen, len(p.text))
	}
	return m
}

// Find reports whether b holds a value, and returns the name it was
// registered as.
func (m *Matcher) Find(b []byte) (name string, ok bool) {
	for _, p := range m.plain {
		if bytes.Contains(b, p.text) {
			return p.name, true
		}
	}
	return "", false
}

// A FoundError is what a Guard returns when the bytes written to it hold a
// value. It names the secret, never the value.
type FoundError struct {
	Name string // the secret's
}

func (e *FoundError) Error() string { return fmt.Sprintf("holds the value of secret %s", e.Name) }

// A Guard passes bytes on to a writer only once it is sure they hold no
// value, even one split across writes: it holds back the end of each write
// that could be the start of one. When a value turns up, the write fails
// with a *FoundError and no byte of the value has been passed on.
type Guard struct {
	m   *Matcher
	out io.Writer
	buf []byte // held back, then the write being scanned
}

// Guard returns a Guard passing what it is sure of on to w.
func (m *Matcher) Guard(w io.Writer) *Guard { return &Guard{m: m, out: w} }

// Write scans what was held back followed by p and passes on all of it but
// the last bytes, fewer than the longest value. It reports len(p) when the
// underlying write succeeds.
func (g *Guard) Write(p []byte) (int, error) {
	g.buf = append(g.buf, p...)
	if name, ok := g.m.Find(g.buf); ok {
		g.buf = g.buf[:0]
		return 0, &FoundError{Name: name}
	}
	keep := min(len(g.buf), g.m.maxLen-1)
	if _, err := g.out.Write(g.buf[:len(g.buf)-keep]); err != nil {
		g.buf = g.buf[:0]
		return 0, err
	}
	g.buf = g.buf[:copy(g.buf, g.buf[len(g.buf)-keep:])]
	return len(p), nil
}

// Flush passes on what is held back, at the end of the stream (where no
// value can start any more). The Guard can then take another stream.
func (g *Guard) Flush() error {
	if len(g.buf) == 0 {
		return nil
	}
	_, err := g.out.Write(g.buf)
	g.buf = g.buf[:0]
	return err
}
