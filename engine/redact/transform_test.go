package redact

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// controls matches the control sequences and characters that a terminal
// acts on, to see what output shows once a terminal has consumed them.
var controls = regexp.MustCompile("\x1b\\][^\x07\x1b]*(\x07|\x1b\\\\)|\x1b\\[[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]|[\x00-\x08\x0b-\x1f\x7f]|\u0080-\u009f")

// through writes in through a Writer of r, cut at every place into two
// writes, and calls check with each output.
func through(t *testing.T, r *Redactor, in string, check func(cut int, out string)) {
	t.Helper()
	for cut := 0; cut <= len(in); cut++ {
		var out bytes.Buffer
		w := r.Writer(&out)
		w.Write([]byte(in[:cut]))
		w.Write([]byte(in[cut:]))
		w.Flush()
		check(cut, out.String())
	}
}

// noValue fails when out, with control characters removed, holds value in
// any case.
func noValue(t *testing.T, value, in string) func(int, string) {
	return func(cut int, out string) {
		t.Helper()
		shown := strings.ToLower(controls.ReplaceAllString(out, ""))
		if strings.Contains(shown, strings.ToLower(value)) {
			t.Fatalf("%q, cut %d: %q shows the value", in, cut, out)
		}
		if !strings.Contains(out, "[redacted") {
			t.Fatalf("%q, cut %d: %q has no marker", in, cut, out)
		}
	}
}

func TestRedactsAnyCase(t *testing.T) {
	const value = "Hunter2-Sesame"
	r := New()
	r.Add("pw", value)
	for _, in := range []string{"pw=" + strings.ToUpper(value) + "\n", "pw=" + strings.ToLower(value) + "\n", "PW=hUNTER2-sESAME"} {
		through(t, r, in, noValue(t, value, in))
	}
}

func TestRedactsThroughControlCharacters(t *testing.T) {
	const value = "Hunter2-Sesame"
	r := New()
	r.Add("pw", value)
	for _, in := range []string{
		"pw=Hunt\x1b[31mer2-Sesame\x1b[0m\n",             // colour inside the value
		"pw=Hunter\x1b]0;title\x072-Sesame\n",            // an OSC title sequence
		"pw=Hunter\x1b]8;;http://x\x1b\\2-Sesame\n",      // OSC ended by ST
		"pw=H\x00u\x00n\x00t\x00e\x00r\x002-Sesame\n",    // NUL
		"pw=Hunter2\r-Sesame\n",                          // CR
		"pw=Hunter2\x7f-\x08Sesame\n",                    // DEL and BS
		"pw=Hunter2\u009b31m-Sesame\n",                   // a C1 CSI
		"pw=HUNTER2\x1b[1m-\x1b[22msesame trailing text", // case and colour
	} {
		through(t, r, in, noValue(t, value, in))
	}
}

func TestRedactsBase32(t *testing.T) {
	const value = "Hunter2-Sesame"
	for _, e := range []*base32.Encoding{base32.StdEncoding, base32.HexEncoding, base32.StdEncoding.WithPadding(base32.NoPadding)} {
		for pad := range 5 {
			plain := strings.Repeat("x", pad) + value + "!"
			enc := e.EncodeToString([]byte(plain))
			for _, in := range []string{enc, strings.ToLower(enc), lines(enc, 76, "\n"), lines(enc, 16, "\n")} {
				r := New()
				r.Add("pw", value)
				through(t, r, in, func(cut int, out string) {
					flat := strings.ToUpper(strings.ReplaceAll(out, "\n", ""))
					for _, f := range Forms(value) {
						if len(f) >= MinLen && strings.Contains(flat, strings.ToUpper(f)) {
							t.Fatalf("pad %d cut %d: %q leaks %q", pad, cut, out, f)
						}
					}
					if !strings.Contains(out, "[redacted pw]") {
						t.Fatalf("pad %d cut %d: %q has no marker", pad, cut, out)
					}
				})
			}
		}
	}
}

// xxd formats b as `xxd` does by default: offset, eight groups of two
// bytes in hex, and the bytes as text.
func xxd(b []byte) string {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&sb, "%08x: ", off)
		var hexs strings.Builder
		for i, c := range line {
			fmt.Fprintf(&hexs, "%02x", c)
			if i%2 == 1 && i != 15 {
				hexs.WriteByte(' ')
			}
		}
		fmt.Fprintf(&sb, "%-40s ", hexs.String())
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestXxdHelper(t *testing.T) {
	// The same text as `printf 'hello password world, this is a long one' | xxd`.
	want := "00000000: 6865 6c6c 6f20 7061 7373 776f 7264 2077  hello password w\n" +
		"00000010: 6f72 6c64 2c20 7468 6973 2069 7320 6120  orld, this is a \n" +
		"00000020: 6c6f 6e67 206f 6e65                      long one\n"
	if got := xxd([]byte("hello password world, this is a long one")); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRedactsHexDump(t *testing.T) {
	const value = "Hunter2-Sesame"
	for pad := range 20 {
		in := xxd([]byte(strings.Repeat("x", pad) + value + "\n" + "end of the file"))
		r := New()
		r.Add("pw", value)
		through(t, r, in, func(cut int, out string) {
			t.Helper()
			if strings.Contains(out, "6e74 6572") || strings.Contains(out, "6572 322d") || strings.Contains(out, "7465 7232") || strings.Contains(out, "7232 2d53") {
				t.Fatalf("pad %d cut %d: the hex of the value shows in\n%s", pad, cut, out)
			}
			if strings.Contains(out, value) {
				t.Fatalf("pad %d cut %d: the value shows in\n%s", pad, cut, out)
			}
			if !strings.Contains(out, "[redacted pw]") {
				t.Fatalf("pad %d cut %d: no marker in\n%s", pad, cut, out)
			}
		})
	}
}

func TestMarkerNotRedactedAgain(t *testing.T) {
	r := New()
	r.Add("db_password", "password")
	once := r.String("db_password=password\n")
	if strings.Contains(once, "password") {
		t.Fatalf("got %q", once)
	}
	// The event bus, then the writer to the terminal, redact again.
	if twice := r.String(once); twice != once {
		t.Fatalf("redacted again: %q became %q", once, twice)
	}
	r.Add("redacted", "REDACTED-value")
	r.Add("value", "redacted")
	once = r.String("password redacted REDACTED-value")
	if twice := r.String(once); twice != once || strings.Contains(strings.ToLower(once), "password") {
		t.Fatalf("redacted again: %q became %q", once, twice)
	}
}

func TestWeak(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"password", "a word"},
		{"1234567890", "a number"},
		{"x9-Q2_z7", "only 8 bytes long"},
		{"dGhpcyBpcyBhIGxvbmcgcmFuZG9tIHRva2Vu", ""},
	} {
		got := Weak(c.value)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) || strings.Contains(got, c.value) {
			t.Errorf("Weak(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}
