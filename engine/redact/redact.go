// Package redact removes secret values from ferry's output. One Redactor
// holds every secret value resolved so far; Writers wrap each output sink
// and replace the values, and their common encodings, as bytes stream
// through, even when a value is split across writes, in another case, or
// with terminal control sequences inside. Each text is replaced in one
// pass, and a marker never holds a value, so redacting output twice
// changes nothing.
//
// Finding the values is a check of the first four bytes at each place
// against a bit set of the patterns' first four bytes (and, where no
// control character or break is near, of one place in four against their
// inner bytes), then a comparison with the few patterns that start with
// that byte. A library matcher (Aho-Corasick) would not do: a match may
// skip control sequences, line breaks and xxd's layout, in either case,
// and must be resumed across writes.
package redact

import (
	"bytes"
	"encoding/base32"
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
	byFirst  [256][]int // indexes into patterns, by first byte in either case
	first    [256]bool  // whether byFirst has any
	quads    []uint64   // bit set of hashes of the first four bytes (lower case) of the patterns
	inner    []uint64   // the same of the four bytes at each of the offsets 0 to 3 of the patterns
	minLen   int        // of the shortest pattern
	maxSpan  int        // the most bytes a match can take
	seen     map[string]bool
	plain    []pattern // the values as they are (see plainForms); repl unset
	warn     func(string)
}

// A kind says how a form of a value may be laid out in output.
type kind uint8

const (
	asIs    kind = iota // the form's characters in a row
	wrapped             // base64 or base32, which their writers break into lines
	dumped              // hex, which xxd lays out in groups and lines
)

type pattern struct {
	text []byte // in lower case: output matches in either case
	repl []byte
	name string // of the secret
	kind kind
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

// maxControl is the most bytes of control characters and sequences that
// a match skips: a value with longer sequences inside is not found.
const maxControl = 256

// maxDumpEnd is the most bytes from the last hex digit of an xxd line to
// its line break: the padding and the text column.
const maxDumpEnd = 64

// stop marks the bytes where a match may skip or break (see special),
// the space between xxd's groups among them.
var stop = func() (t [256]bool) {
	t = special
	t[' '] = true
	return t
}()

// lower maps each byte to its ASCII lower case.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// special marks the bytes that a match may skip or break at: a place
// where one follows the first byte cannot be ruled out by maybeAt. (The
// space between xxd's groups is looked for apart: it is common.)
var special = func() (t [256]bool) {
	for i := range 0x20 {
		t[i] = true
	}
	t[0x7f], t[0xc2] = true, true
	return t
}()

// match compares p with the start of b, in either case, skipping control
// characters and sequences after its first character, the line breaks of
// a wrapped form and the layout of a dumped one. It returns how many
// bytes of b the comparison took (n) and how many bytes of p.text they
// matched (m): m == len(p.text) is a match; n == len(b) with
// m < len(p.text) means b ends with the start of one; n < 0 is no match.
func (p *pattern) match(b []byte) (n, m int) {
	var memo tried
	return p.matchFrom(b, 0, 0, 0, 0, &memo)
}

// A tried remembers what matchFrom returned from a place in b and in the
// pattern, where a value holding control characters can be read in two
// ways: it keeps text full of them from costing more than a pass per
// place.
type tried map[[2]int][2]int

// matchFrom is match from b[n:] and p.text[m:], run characters after the
// start or the last break, having skipped skipped bytes of controls.
func (p *pattern) matchFrom(b []byte, n, m, run, skipped int, memo *tried) (int, int) {
	partial := -1 // m of a way that reached the end of b, if any
	for m < len(p.text) {
		if n == len(b) {
			return n, m
		}
		c := b[n]
		if lower[c] == p.text[m] {
			if m > 0 && special[c] {
				// The value holds a control character: it may also
				// start a sequence to skip.
				switch k := control(b[n:]); {
				case k < 0: // b ends inside the sequence
					partial = m
				case k > 0 && skipped+k <= maxControl:
					n2, m2 := p.tryFrom(b, n+k, m, run, skipped+k, memo)
					if m2 == len(p.text) {
						return n2, m2
					}
					if n2 == len(b) {
						partial = m2
					}
				}
			}
			n, m, run = n+1, m+1, run+1
			continue
		}
		if m == 0 {
			return -1, 0
		}
		k := 0
		switch {
		case p.kind == wrapped && (c == '\n' || c == '\r') && (run >= minWidth || run == m):
			if k = lineBreak(b[n:]); k > 0 {
				run = 0
			}
		case p.kind == dumped && m%2 == 0:
			k = dumpGap(b[n:])
		}
		if k == 0 {
			if k = control(b[n:]); k > 0 {
				if skipped += k; skipped > maxControl {
					k = 0
				}
			}
		}
		switch {
		case k < 0:
			return len(b), m
		case k == 0 && partial >= 0:
			return len(b), partial
		case k == 0:
			return -1, 0
		}
		n += k
	}
	return n, m
}

// tryFrom is matchFrom, remembered in memo.
func (p *pattern) tryFrom(b []byte, n, m, run, skipped int, memo *tried) (int, int) {
	if *memo == nil {
		*memo = tried{}
	}
	if r, ok := (*memo)[[2]int{n, m}]; ok {
		return r[0], r[1]
	}
	n2, m2 := p.matchFrom(b, n, m, run, skipped, memo)
	(*memo)[[2]int{n, m}] = [2]int{n2, m2}
	return n2, m2
}

// lineBreak returns the length of the "\n" or "\r\n" at the start of b,
// 0 if there is none, -1 if b is a lone "\r" that may yet be one.
func lineBreak(b []byte) int {
	switch {
	case b[0] == '\n':
		return 1
	case b[0] != '\r':
		return 0
	case len(b) == 1:
		return -1
	case b[1] == '\n':
		return 2
	}
	return 0
}

// dumpGap returns the length of what xxd puts between two bytes at the
// start of b: a space between groups, or the end of a line (padding, the
// 16 characters of the text column, a line break) and the next line's
// offset. It returns 0 if b starts with neither, -1 if b ends first.
func dumpGap(b []byte) int {
	if b[0] != ' ' {
		return 0
	}
	if len(b) == 1 {
		return -1
	}
	if isHex(b[1]) {
		return 1
	}
	nl := bytes.IndexByte(b[:min(len(b), maxDumpEnd+2)], '\n')
	if nl < 0 {
		if len(b) < maxDumpEnd+2 {
			return -1
		}
		return 0
	}
	end := bytes.TrimSuffix(b[:nl], []byte("\r"))
	if len(end) < 2+16 || len(bytes.TrimLeft(end[:len(end)-16], " ")) != 0 {
		return 0
	}
	i := nl + 1
	for i < len(b) && isHex(b[i]) && i-nl <= 16 {
		i++
	}
	switch {
	case i+2 > len(b):
		return -1
	case i-nl-1 < 4 || b[i] != ':' || b[i+1] != ' ':
		return 0
	}
	return i + 2
}

// control returns the length of the control character or sequence at the
// start of b, which a terminal acts on instead of showing: a C0 control
// other than tab and newline, DEL, a C1 control (in UTF-8), or an escape
// sequence (CSI, OSC and the other strings, or ESC and a final byte). It
// returns 0 if b starts with none, -1 if b ends before the sequence does.
func control(b []byte) int {
	switch c := b[0]; {
	case c == 0x1b:
		if len(b) == 1 {
			return -1
		}
		return escape(b[1], b, 2)
	case c == 0xc2:
		if len(b) == 1 {
			return -1
		}
		if b[1] < 0x80 || b[1] > 0x9f {
			return 0
		}
		switch b[1] {
		case 0x9b:
			return escape('[', b, 2)
		case 0x90, 0x98, 0x9d, 0x9e, 0x9f:
			return escape(']', b, 2)
		}
		return 2
	case c < 0x20 && c != '\t' && c != '\n', c == 0x7f:
		return 1
	}
	return 0
}

// escape returns the length of the sequence in b whose introducer (the
// byte after ESC, or the C1 control's equivalent) is kind, with its body
// starting at b[i]; see control.
func escape(kind byte, b []byte, i int) int {
	limit := min(len(b), maxControl)
	switch kind {
	case '[': // CSI: parameters, intermediates, a final byte
		for ; i < limit; i++ {
			switch c := b[i]; {
			case c >= 0x40 && c <= 0x7e:
				return i + 1
			case c < 0x20 || c > 0x3f:
				return i
			}
		}
	case ']', 'P', 'X', '^', '_': // a string, ended by BEL or ST
		for ; i < limit; i++ {
			switch {
			case b[i] == 0x07:
				return i + 1
			case b[i] == 0x1b || b[i] == 0xc2:
				if i+1 == len(b) {
					return -1
				}
				if b[i] == 0x1b && b[i+1] == '\\' || b[i] == 0xc2 && b[i+1] == 0x9c {
					return i + 2
				}
			}
		}
	default: // ESC, intermediates, a final byte
		i--
		for ; i < limit; i++ {
			switch c := b[i]; {
			case c >= 0x30 && c <= 0x7e:
				return i + 1
			case c < 0x20 || c > 0x2f:
				return i
			}
		}
	}
	if limit == len(b) {
		return -1
	}
	return 0
}

// asciiLower returns s with its ASCII letters in lower case and every
// other byte as it is (strings.ToLower would change invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower[c]
	}
	return string(b)
}

// span is the most bytes of output a match of p can take.
func (p *pattern) span() int {
	n := len(p.text) + maxControl
	switch p.kind {
	case wrapped:
		n += 2 * (1 + (len(p.text)-1)/minWidth) // "\r\n" at every break
	case dumped:
		n += len(p.text)/2 + (1+len(p.text)/32)*(maxDumpEnd+2+16+2)
	}
	return n
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

// Warn says msg where the Redactor gives its warnings (see SetWarn), if
// anywhere. msg must name a secret, never hold a value.
func (r *Redactor) Warn(msg string) {
	r.mu.RLock()
	warn := r.warn
	r.mu.RUnlock()
	if warn != nil {
		warn(msg)
	}
}

// Add registers value, known to people as name. It also registers the
// value's JSON-escaped (also with non-ASCII characters as \uXXXX and "/"
// as "\/"), base64 (standard and URL alphabets, at every alignment; the
// standard one also wrapped in lines), base32 (standard and hex
// alphabets, at every alignment, also wrapped), hex (also as xxd lays it
// out) and URL-encoded forms, and each line of a multi-line value. Every
// form matches in either case, and with control characters and escape
// sequences inside. A value shorter than MinLen is refused. A line of a
// multi-line value shorter than MinLen is not registered on its own, and
// the Redactor warns about it (see SetWarn), once per value: the whole
// value is still redacted, but output showing only that line is not.
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
	lowered := map[string]kind{}
	for form, k := range forms(value) {
		// A form that may be laid out (a standard base64 one that is
		// also a URL one, say) is matched as laid out.
		if old, ok := lowered[asciiLower(form)]; !ok || old == asIs {
			lowered[asciiLower(form)] = k
		}
	}
	for form, k := range lowered {
		r.patterns = append(r.patterns, pattern{text: []byte(form), name: name, kind: k})
	}
	sort.SliceStable(r.patterns, func(i, j int) bool {
		if a, b := len(r.patterns[i].text), len(r.patterns[j].text); a != b {
			return a > b
		}
		return bytes.Compare(r.patterns[i].text, r.patterns[j].text) < 0
	})
	r.byFirst, r.first = [256][]int{}, [256]bool{}
	r.quads, r.inner = make([]uint64, 1<<quadBits/64), make([]uint64, 1<<quadBits/64)
	r.minLen = len(r.patterns[len(r.patterns)-1].text)
	for i, p := range r.patterns {
		c := p.text[0]
		r.byFirst[c] = append(r.byFirst[c], i)
		r.first[c] = true
		if u := c - 'a' + 'A'; c >= 'a' && c <= 'z' {
			r.byFirst[u] = append(r.byFirst[u], i)
			r.first[u] = true
		}
		h := quad(p.text[0], p.text[1], p.text[2], p.text[3])
		r.quads[h/64] |= 1 << (h % 64)
		for j := 0; j < 4 && j+4 <= len(p.text); j++ {
			h := quad(p.text[j], p.text[j+1], p.text[j+2], p.text[j+3])
			r.inner[h/64] |= 1 << (h % 64)
		}
		r.maxSpan = max(r.maxSpan, p.span())
	}
	r.mark()
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

// mark sets the marker that replaces each secret's values: "[redacted
// NAME]", unless a value (in any form) could be found in it, or in it
// and the text around it, which would redact the marker again when
// output passes through the Redactor twice (as events do on their way to
// the terminal), or leave a value in the output; then the first safe one
// of "[redacted]", "[*]", "<*>" and "(*)".
func (r *Redactor) mark() {
	markers := map[string][]byte{}
	for i := range r.patterns {
		p := &r.patterns[i]
		m, ok := markers[p.name]
		if !ok {
			m = []byte("[*]")
			for _, try := range []string{"[redacted " + p.name + "]", "[redacted]", "[*]", "<*>", "(*)"} {
				if r.safe(try) {
					m = []byte(try)
					break
				}
			}
			markers[p.name] = m
		}
		p.repl = m
	}
}

// safe reports whether marker can replace values: no form is in it, none
// holds it, and none starts with its end or ends with its start.
func (r *Redactor) safe(marker string) bool {
	if r.holds([]byte(marker)) {
		return false
	}
	m := asciiLower(marker)
	for _, p := range r.patterns {
		t := string(p.text)
		if strings.Contains(t, m) {
			return false
		}
		for k := 1; k < len(m); k++ {
			if strings.HasSuffix(t, m[:k]) || strings.HasPrefix(t, m[k:]) {
				return false
			}
		}
	}
	return true
}

// holds reports whether b holds a form of a value.
func (r *Redactor) holds(b []byte) bool {
	for i := range b {
		if p, _ := r.matchAt(b, i); p != nil {
			return true
		}
	}
	return false
}

// Weak says why value is hard to redact well, or returns "" when it is
// not: a value made of letters alone or digits alone (a word or a number,
// which ordinary output holds too, as a secret "password" is in the name
// "db_password"), or shorter than 12 bytes, is redacted wherever it turns
// up, hiding ordinary text, and what is left around it may give it away.
// The reason never holds the value.
func Weak(value string) string {
	letters, digits := 0, 0
	for _, c := range []byte(value) {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		case c >= '0' && c <= '9':
			digits++
		}
	}
	switch {
	case letters == len(value):
		return "its value is a word (letters only), which ordinary output holds too"
	case digits == len(value):
		return "its value is a number (digits only), which ordinary output holds too"
	case len(value) < 12:
		return fmt.Sprintf("its value is only %d bytes long", len(value))
	}
	return ""
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
// encodings, each at least MinLen/2 bytes long. Output holding one in any
// case, or laid out as the Redactor knows, reveals the value too.
func Forms(value string) []string {
	return slices.Sorted(maps.Keys(forms(value)))
}

// forms returns the texts that reveal value, each with how output may lay
// it out.
func forms(value string) map[string]kind {
	set := map[string]kind{}
	add := func(f string, k kind) {
		if old, ok := set[f]; len(f) >= MinLen/2 && (!ok || old == asIs) {
			set[f] = k
		}
	}
	for _, f := range plainForms(value) {
		add(f, asIs)
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
			add(j, asIs)
			add(strings.ReplaceAll(j, "/", `\/`), asIs)
		}
	}
	add(hex.EncodeToString([]byte(value)), dumped)
	add(url.QueryEscape(value), asIs)
	add(url.PathEscape(value), asIs)
	for align := range 3 {
		add(base64At(base64.RawURLEncoding, value, align), asIs)
		add(base64At(base64.RawStdEncoding, value, align), wrapped)
	}
	for align := range 5 {
		add(base32At(base32.StdEncoding, value, align), wrapped)
		add(base32At(base32.HexEncoding, value, align), wrapped)
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

// base32At returns the part of the base32 encoding of value, preceded by
// align other bytes, that depends on value's bytes alone.
func base32At(e *base32.Encoding, value string, align int) string {
	enc := e.WithPadding(base32.NoPadding).EncodeToString(append(make([]byte, align), value...))
	first := (8*align + 4) / 5
	last := 8 * (align + len(value)) / 5
	return enc[first:last]
}

// String returns s with every registered value replaced.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.patterns) == 0 {
		return s
	}
	if out, end := r.replace([]byte(s)); end > 0 {
		return string(out)
	}
	return s
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

// replace returns b with every match replaced, in one pass over b, and
// the offset in b after the last match.
func (r *Redactor) replace(b []byte) ([]byte, int) {
	var out []byte
	done, end := 0, 0
	for i := 0; i < len(b); {
		if r.none4(b, i) {
			i += 4
			continue
		}
		if !r.maybeAt(b, i) {
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

// maybeAt reports whether a pattern could match at b[i:], by its first
// four bytes: most bytes of output are ruled out at the cost of a few
// table lookups.
func (r *Redactor) maybeAt(b []byte, i int) bool {
	if !r.first[b[i]] {
		return false
	}
	if i+4 > len(b) {
		return true
	}
	c1, c2, c3 := b[i+1], b[i+2], b[i+3]
	if special[c1] || special[c2] || special[c3] || c2 == ' ' {
		return r.maybeAcross(b, i)
	}
	return r.hasQuad(quad(lower[b[i]], lower[c1], lower[c2], lower[c3]))
}

// maybeAcross is maybeAt where a control character, a line break or a
// space follows b[i]: it looks past "\n" (where wrapped forms break) and
// lets a space through where xxd puts one, and gives up on the rest ("\r"
// among them: a control to skip, or half of a "\r\n" break).
func (r *Redactor) maybeAcross(b []byte, i int) bool {
	if r.hasQuad(quad(lower[b[i]], lower[b[i+1]], lower[b[i+2]], lower[b[i+3]])) {
		return true // a value with a control character or a space inside
	}
	q := [4]byte{lower[b[i]]}
	n := 1
	for _, c := range b[i+1:] {
		switch {
		case n == 4:
			return r.hasQuad(quad(q[0], q[1], q[2], q[3]))
		case c == '\n':
			continue
		case c == ' ' && n == 2 && isHex(q[0]) && isHex(q[1]):
			return true
		case special[c]:
			return true
		}
		q[n] = lower[c]
		n++
	}
	return n < 4 || r.hasQuad(quad(q[0], q[1], q[2], q[3]))
}

// none4 reports whether no pattern can match at b[i:], b[i+1:], b[i+2:]
// or b[i+3:], by the four bytes b[i+3:i+7], which a match starting at any
// of these places holds (patterns are at least 7 bytes long) as four of
// its first seven bytes, unless it skips or breaks at one of b[i:i+7].
// It looks at one place in four of base64 text, say, instead of each.
func (r *Redactor) none4(b []byte, i int) bool {
	if i+7 > len(b) || r.minLen < 7 {
		return false
	}
	w := b[i : i+7]
	if stop[w[0]] || stop[w[1]] || stop[w[2]] || stop[w[3]] || stop[w[4]] || stop[w[5]] || stop[w[6]] {
		return false
	}
	h := quad(lower[w[3]], lower[w[4]], lower[w[5]], lower[w[6]])
	return r.inner[h/64]&(1<<(h%64)) == 0
}

func (r *Redactor) hasQuad(h uint32) bool { return r.quads[h/64]&(1<<(h%64)) != 0 }

// quadBits is the size of the hash of four bytes that maybeAt looks up.
const quadBits = 18

func quad(a, b, c, d byte) uint32 {
	return (uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24) * 0x9e3779b1 >> (32 - quadBits)
}

// matchAt returns the longest pattern matching at b[i:] and how many bytes
// of b it takes, or nil.
func (r *Redactor) matchAt(b []byte, i int) (*pattern, int) {
	for _, k := range r.byFirst[b[i]] {
		p := &r.patterns[k]
		if n, m := p.match(b[i:]); m == len(p.text) {
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
		if r.none4(b, i) {
			i += 3
			continue
		}
		if !r.maybeAt(b, i) {
			continue
		}
		for _, k := range r.byFirst[b[i]] {
			p := &r.patterns[k]
			if len(b)-i >= p.span() {
				continue
			}
			if n, m := p.match(b[i:]); n == len(b)-i && m < len(p.text) && (p.kind != wrapped || m >= minHeld || !endsLine(b)) {
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
	r       *Redactor
	mu      sync.Mutex
	out     io.Writer
	buf     []byte // held back
	scratch []byte // what was held back, and the next write
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
	return w.write(p)
}

// write is Write, with w.mu held.
func (w *Writer) write(p []byte) (int, error) {
	b := p
	if len(w.buf) > 0 {
		w.scratch = append(append(w.scratch[:0], w.buf...), p...)
		b = w.scratch
	}
	w.r.mu.RLock()
	out, end := w.r.replace(b)
	hold := w.r.held(out, len(out)-(len(b)-end))
	w.r.mu.RUnlock()
	w.buf = append(w.buf[:0], out[len(out)-hold:]...)
	if len(out) == hold {
		return len(p), nil
	}
	if _, err := w.out.Write(out[:len(out)-hold]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteRedacted passes p on as it is: p is output that w's Redactor has
// redacted already, such as the lines of an OutputWriter, so scanning it
// again would find nothing. What w holds back is scanned with p, since
// the two together may hold a value. It reports len(p) when the
// underlying write succeeds.
func (w *Writer) WriteRedacted(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		return w.write(p)
	}
	if _, err := w.out.Write(p); err != nil {
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
