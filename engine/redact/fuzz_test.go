package redact

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRedact writes a value, transformed as output may show it, between
// other text through a Writer in two writes, and checks that the output
// never shows the value, in any case, with the control sequence put
// inside it or without.
func FuzzRedact(f *testing.F) {
	f.Add("Hunter2-Sesame", "pw=", "\n", uint8(0), uint16(3), uint16(5))
	f.Add("password", "db_", "=password\n", uint8(1), uint16(0), uint16(2))
	f.Add("s3cr3t-\"tok\"/&+?=", "", "", uint8(2), uint16(7), uint16(9))
	f.Add("-----BEGIN KEY-----\nMIIBVgIBADANBgkq\n", "x", "y", uint8(3), uint16(20), uint16(1))
	f.Add("[redacted]", "[redacted tok", "]", uint8(4), uint16(1), uint16(4))
	f.Fuzz(func(t *testing.T, value, before, after string, how uint8, at, cut uint16) {
		if len(value) < MinLen || len(value) > 256 {
			return
		}
		r := New()
		if err := r.Add("tok", value); err != nil {
			t.Fatal(err)
		}
		shown := value
		switch how % 3 {
		case 1:
			shown = asciiUpper(shown)
		case 2:
			shown = asciiLower(shown)
		}
		// A control sequence inside the value, after its first byte.
		ctl := []string{"", "\x1b[31m", "\x1b]0;title\x07", "\x00", "\r", "\x7f", "\u009b1m", "\x1b(B"}[int(how/3)%8]
		if i := 1 + int(at)%len(shown); ctl != "" && i < len(shown) {
			shown = shown[:i] + ctl + shown[i:]
		}
		in := before + shown + after
		var out bytes.Buffer
		w := r.Writer(&out)
		i := int(cut) % (len(in) + 1)
		w.Write([]byte(in[:i]))
		w.Write([]byte(in[i:]))
		w.Flush()
		got := asciiLower(out.String())
		v := asciiLower(value)
		if strings.Contains(got, v) || ctl != "" && strings.Contains(strings.ReplaceAll(got, ctl, ""), v) {
			t.Fatalf("%q in two writes (cut at %d) gave %q, which shows %q", in, i, out.String(), value)
		}
	})
}

// asciiUpper returns s with its ASCII letters in upper case and every
// other byte as it is.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}
