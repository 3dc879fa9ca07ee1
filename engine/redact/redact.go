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
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
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
	maxSpan  int        // the most bytes a match can take
	seen     map[string]bool
	plain    []pattern // the values as they are (see plainForms); repl unset
	warn     func(string)
}

type pattern struct {
	text []byte
	repl []byte
	name string // of the secret
	// wrap is set for a standard base64 form: a line break ("\n" or
	// "\r\n") may come between its characters, as base64 and PEM wrap
	// their output at 76 or 64 columns.
	wrap bool
	// fold marks the hex digits of text's escapes (%2F, \u00e9), which
	// match in either case; nil when there are none.
	fold []bool
}

// Breaks in a wrapped match: one may follow the first character, and
// each further one at least minWidth characters after the previous one
// (base64 wraps at 76, PEM at 64). held waits for the rest of a match
// that ends in a break only when at least minHeld characters come before
// it, so that a line ending with a few characters that could start an
// encoded value is not held back.
const (
	minWidth = 16
	minHeld  = MinLen / 2
)

// match compares p, a pattern that is not plain, with the start of b
// (plain ones are compared with bytes.HasPrefix, inline). It returns how
// many bytes of b the comparison took (n) and how many bytes of p.text
// they matched (m): m == len(p.text) is a match; n == len(b) with
// m < len(p.text) means b ends with the start of one; n < 0 is no match.
func (p *pattern) match(b []byte) (n, m int) {
	run := 0 // characters since the start or the last break
	for m < len(p.text) {
		if n == len(b) {
			return n, m
		}
		c := b[n]
		if p.wrap && (c == '\n' || c == '\r') && (run >= minWidth || run == m && m > 0) {
			if c == '\r' {
				if n+1 == len(b) {
					return len(b), m
				}
				if b[n+1] != '\n' {
					return -1, 0
				}
				n++
			}
			n, run = n+1, 0
			continue
		}
		if c != p.text[m] && !(p.fold != nil && p.fold[m] && isHex(c) && c|0x20 == p.text[m]|0x20) {
			return -1, 0
		}
		n, m, run = n+1, m+1, run+1
	}
	return n, m
}

// plain reports whether p matches its text as it is.
func (p *pattern) plain() bool { return !p.wrap && p.fold == nil }

// span is the most bytes of output a match of p can take.
func (p *pattern) span() int {
	if !p.wrap {
		return len(p.text)
	}
	return len(p.text) + 2*(1+(len(p.text)-1)/minWidth) // "\r\n" at every break
}

// foldable returns the positions of the hex digits of form's escapes, or
// nil if it has none.
func foldable(form string) []bool {
	var fold []bool
	mark := func(i, n int) {
		if i+n > len(form) {
			return
		}
		for k := i; k < i+n; k++ {
			if !isHex(form[k]) {
				return
			}
		}
		if fold == nil {
			fold = make([]bool, len(form))
		}
		for k := i; k < i+n; k++ {
			fold[k] = true
		}
	}
	for i := 0; i < len(form); i++ {
		switch {
		case form[i] == '%':
			mark(i+1, 2)
		case form[i] == '\\' && i+1 < len(form) && form[i+1] == 'u':
			mark(i+2, 4)
		}
	}
	return fold
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

// New returns a Redactor with no values.
func New() *Redactor { return &Redactor{seen: map[string]bool{}} }

// SetWarn sets where the Redactor says that it cannot hide part of a value
// (see Add). The messages name the secret, never a value.
func (r *Redactor) SetWarn(warn func(msg string)) {
	r.mu.Lock()
	r.warn = warn
	r.mu.Unlock()
}

// Add registers value, known to people as name. It also registers the
// value's JSON-escaped (also with non-ASCII characters as \uXXXX and "/"
// as "\/"), base64 (standard and URL alphabets, at every alignment; the
// standard one also wrapped in lines), hex and URL-encoded forms (with
// escapes in either case), and each line of a multi-line value. A value
// shorter than MinLen is refused. A line of a multi-line value shorter
// than MinLen is not registered on its own, and the Redactor warns about
// it (see SetWarn), once per value: the whole value is still redacted,
// but output showing only that line is not.
func (r *Redactor) Add(name, value string) error {
	if len(value) < MinLen {
		return fmt.Errorf("secret %s is %d bytes long; ferry cannot redact values shorter than %d bytes safely: use a longer value", name, len(value), MinLen)
	}
	if warn, msg := r.register(name, value); warn != nil {
		// Not under r.mu: the warning is itself output that passes
		// through the Redactor.
		warn(msg)
	}
	return nil
}

// register adds value's forms, and returns the warning to give, if any.
func (r *Redactor) register(name, value string) (warn func(string), msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[value] {
		return nil, ""
	}
	r.seen[value] = true
	for _, form := range plainForms(value) {
		r.plain = append(r.plain, pattern{text: []byte(form), name: name})
	}
	repl := []byte("[redacted " + name + "]")
	for form, wrap := range forms(value) {
		r.patterns = append(r.patterns, pattern{text: []byte(form), repl: repl, name: name, wrap: wrap, fold: foldable(form)})
	}
	sort.SliceStable(r.patterns, func(i, j int) bool {
		if a, b := len(r.patterns[i].text), len(r.patterns[j].text); a != b {
			return a > b
		}
		return bytes.Compare(r.patterns[i].text, r.patterns[j].text) < 0
	})
	r.byFirst = [256][]int{}
	for i, p := range r.patterns {
		r.byFirst[p.text[0]] = append(r.byFirst[p.text[0]], i)
		r.maxSpan = max(r.maxSpan, p.span())
	}
	short := shortLines(value)
	if len(short) == 0 || r.warn == nil {
		return nil, ""
	}
	verb := "are"
	if len(short) == 1 {
		verb = "is"
	}
	return r.warn, fmt.Sprintf("secret %s: %s of its value %s shorter than %d bytes, too short to redact on its own; output that shows such a line apart from the rest of the value is not redacted (the whole value, and its longer lines, are)",
		name, plural(short, "line", "lines"), verb, MinLen)
}

// shortLines returns the numbers (from 1) of the lines of a multi-line
// value that are too short to be redacted on their own. Empty lines, and
// the empty line after a final newline, do not count.
func shortLines(value string) []int {
	lines := strings.Split(strings.TrimSuffix(value, "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	var short []int
	for i, line := range lines {
		if line = strings.TrimSuffix(line, "\r"); line != "" && len(line) < MinLen {
			short = append(short, i+1)
		}
	}
	return short
}

// plural returns "line 3" or "lines 3, 5".
func plural(ns []int, one, many string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	if len(ns) == 1 {
		return one + " " + s[0]
	}
	return many + " " + strings.Join(s, ", ")
}

// Forms returns the texts that reveal value: the value itself and its
// encodings, each at least MinLen/2 bytes long.
func Forms(value string) []string {
	return slices.Sorted(maps.Keys(forms(value)))
}

// forms returns the texts that reveal value, each with whether it is a
// standard base64 form, which may be wrapped in lines.
func forms(value string) map[string]bool {
	set := map[string]bool{}
	for _, f := range plainForms(value) {
		set[f] = false
	}
	j, _ := json.Marshal(value)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(value)
	for _, j := range []string{string(j[1 : len(j)-1]), strings.TrimSuffix(b.String(), "\n")[1 : b.Len()-2]} {
		// Python's json.dumps writes non-ASCII characters as \uXXXX;
		// PHP's json_encode does that and writes "/" as "\/".
		for _, j := range []string{j, asciiJSON(j)} {
			set[j], set[strings.ReplaceAll(j, "/", `\/`)] = false, false
		}
	}
	set[hex.EncodeToString([]byte(value))] = false
	set[strings.ToUpper(hex.EncodeToString([]byte(value)))] = false
	set[url.QueryEscape(value)] = false
	set[url.PathEscape(value)] = false
	for _, e := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		for align := 0; align < 3; align++ {
			set[base64At(e, value, align)] = e == base64.RawStdEncoding
		}
	}
	for f := range set {
		if len(f) < MinLen/2 {
			delete(set, f)
		}
	}
	return set
}

// asciiJSON returns the JSON string body j with every non-ASCII character
// escaped as \uXXXX (a UTF-16 surrogate pair above U+FFFF).
func asciiJSON(j string) string {
	var b strings.Builder
	for _, c := range j {
		if c < utf8.RuneSelf {
			b.WriteRune(c)
			continue
		}
		for _, u := range utf16.Encode([]rune{c}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
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
		if p, _ := r.matchAt(b, i); p != nil {
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
		if len(r.byFirst[b[i]]) == 0 {
			i++
			continue
		}
		p, n := r.matchAt(b, i)
		if p == nil {
			i++
			continue
		}
		out = append(append(out, b[done:i]...), p.repl...)
		i += n
		done, end = i, i
	}
	if out == nil {
		return b, 0
	}
	return append(out, b[done:]...), end
}

// matchAt returns the longest pattern matching at b[i:] and how many bytes
// of b it takes, or nil.
func (r *Redactor) matchAt(b []byte, i int) (*pattern, int) {
	for _, k := range r.byFirst[b[i]] {
		p := &r.patterns[k]
		if p.plain() {
			if bytes.HasPrefix(b[i:], p.text) {
				return p, len(p.text)
			}
		} else if n, m := p.match(b[i:]); m == len(p.text) {
			return p, n
		}
	}
	return nil, 0
}

// held returns how many bytes at the end of b (after offset from) could
// be the start of a registered value, and so must wait for the next write.
// It looks at each byte of the tail that a match could span, from the
// first, and only at the patterns starting with that byte: the first
// place where b's end could start a match gives the longest hold.
func (r *Redactor) held(b []byte, from int) int {
	for i := max(from, len(b)-r.maxSpan+1); i < len(b); i++ {
		for _, k := range r.byFirst[b[i]] {
			p := &r.patterns[k]
			if len(b)-i >= p.span() {
				continue
			}
			if p.plain() {
				if bytes.HasPrefix(p.text, b[i:]) {
					return len(b) - i
				}
			} else if n, m := p.match(b[i:]); n == len(b)-i && m < len(p.text) && (m >= minHeld || !endsLine(b)) {
				return len(b) - i
			}
		}
	}
	return 0
}

func endsLine(b []byte) bool { return len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') }

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
