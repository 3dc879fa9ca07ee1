package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const secret = `s3cr3t-"tok"/&+?=`

// leaks returns the forms of secret found in out.
func leaks(out string) []string {
	var found []string
	for _, f := range Forms(secret) {
		if strings.Contains(out, f) {
			found = append(found, f)
		}
	}
	return found
}

func TestWriterRedactsEveryForm(t *testing.T) {
	jsonForm, _ := json.Marshal(map[string]string{"text": "value " + secret})
	cases := map[string]string{
		"raw":        "token is " + secret + " here\n",
		"json":       string(jsonForm),
		"hex":        hex.EncodeToString([]byte(secret)),
		"HEX":        strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"query":      "https://x/?t=" + url.QueryEscape(secret),
		"path":       "https://x/" + url.PathEscape(secret),
		"base64 0":   base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 1":   base64.StdEncoding.EncodeToString([]byte("a" + secret + "b")),
		"base64 2":   base64.StdEncoding.EncodeToString([]byte("ab" + secret)),
		"base64url":  base64.URLEncoding.EncodeToString([]byte("Authorization: Basic " + secret)),
		"basic auth": base64.StdEncoding.EncodeToString([]byte("user:" + secret)),
		"twice":      secret + secret,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			r := New()
			if err := r.Add("tok", secret); err != nil {
				t.Fatal(err)
			}
			// Every split of the input into two writes.
			for cut := 0; cut <= len(in); cut++ {
				var out bytes.Buffer
				w := r.Writer(&out)
				w.Write([]byte(in[:cut]))
				w.Write([]byte(in[cut:]))
				w.Flush()
				if l := leaks(out.String()); l != nil {
					t.Fatalf("cut %d: %q leaks %q", cut, out.String(), l)
				}
				if !strings.Contains(out.String(), "[redacted tok]") {
					t.Fatalf("cut %d: %q has no [redacted tok]", cut, out.String())
				}
			}
		})
	}
}

func TestWriterByteByByte(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	var out bytes.Buffer
	w := r.Writer(&out)
	in := "start " + secret + " middle " + secret[:5] + " end " + secret
	for i := range len(in) {
		w.Write([]byte{in[i]})
	}
	w.Flush()
	want := "start [redacted tok] middle " + secret[:5] + " end [redacted tok]"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestWriterPassesOtherOutputAtOnce(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	var out bytes.Buffer
	w := r.Writer(&out)
	w.Write([]byte("hello world\n"))
	if out.String() != "hello world\n" {
		t.Fatalf("held back: got %q", out.String())
	}
	// A possible start of the value waits for the next write.
	w.Write([]byte("x s3cr"))
	if out.String() != "hello world\nx " {
		t.Fatalf("got %q", out.String())
	}
	w.Write([]byte("ew"))
	if out.String() != "hello world\nx s3crew" {
		t.Fatalf("got %q", out.String())
	}
}

func TestMultiLineValueRedactedLineByLine(t *testing.T) {
	r := New()
	key := "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\nq7BFUpkGp3+XQmJ\n-----END KEY-----\n"
	r.Add("tls", key)
	got := r.String("rule │ MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\n")
	if strings.Contains(got, "MIIBVgIB") {
		t.Fatalf("a line of the key leaked: %q", got)
	}
}

func TestShortValueRefused(t *testing.T) {
	err := New().Add("pin", "1234")
	if err == nil || !strings.Contains(err.Error(), "pin") || strings.Contains(err.Error(), "1234") {
		t.Fatalf("got %v, want an error naming pin without the value", err)
	}
}

func TestFind(t *testing.T) {
	r := New()
	if _, ok := r.Find(secret); ok {
		t.Fatal("an empty Redactor found a value")
	}
	r.Add("tok", secret)
	r.Add("other", "another-value")
	for s, want := range map[string]string{
		secret:                             "tok",
		"postgres://u:" + secret:           "tok",
		hex.EncodeToString([]byte(secret)): "tok",
		"x another-value y":                "other",
		"s3cr3t-":                          "",
		"":                                 "",
	} {
		name, ok := r.Find(s)
		if name != want || ok != (want != "") {
			t.Errorf("Find(%q) = %q, %v; want %q", s, name, ok, want)
		}
	}
}

// BenchmarkWriter measures redacting log-like output with ten secrets
// known, against copying it with none.
func BenchmarkWriter(b *testing.B) {
	line := []byte("12:00:00 api │ GET /healthz 200 in 1.2ms user=alice request=9f8e7d6c5b4a\n")
	for _, n := range []int{0, 10} {
		b.Run(strconv.Itoa(n)+" secrets", func(b *testing.B) {
			r := New()
			for i := range n {
				r.Add("s"+strconv.Itoa(i), "secret-value-number-"+strconv.Itoa(i)+"-xyz")
			}
			w := r.Writer(io.Discard)
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				w.Write(line)
			}
		})
	}
}

// lines returns s broken into lines of width bytes, as base64 and PEM
// writers do.
func lines(s string, width int, eol string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + eol)
		s = s[width:]
	}
	return b.String() + s + eol
}

func TestWrappedBase64Redacted(t *testing.T) {
	long := strings.Repeat("long-secret-", 12) // spans three lines of 64
	for _, value := range []string{secret, long} {
		for _, width := range []int{76, 64} {
			for _, eol := range []string{"\n", "\r\n"} {
				// Every position of the value in the encoded text, so
				// its encoding crosses a line break at every place.
				for pad := 0; pad < 80; pad++ {
					plain := strings.Repeat("x", pad) + value + " trailer"
					in := lines(base64.StdEncoding.EncodeToString([]byte(plain)), width, eol)
					r := New()
					r.Add("tok", value)
					var out bytes.Buffer
					w := r.Writer(&out)
					half := len(in) / 2
					w.Write([]byte(in[:half]))
					w.Write([]byte(in[half:]))
					w.Flush()
					flat := strings.NewReplacer("\r", "", "\n", "").Replace(out.String())
					for _, f := range Forms(value) {
						if len(f) >= MinLen && strings.Contains(flat, f) {
							t.Fatalf("width %d, pad %d: %q leaks %q", width, pad, out.String(), f)
						}
					}
					if !strings.Contains(out.String(), "[redacted tok]") {
						t.Fatalf("width %d, pad %d: %q has no [redacted tok]", width, pad, out.String())
					}
				}
			}
		}
	}
}

func TestWrappedBase64KeepsLinesFlowing(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	var out bytes.Buffer
	w := r.Writer(&out)
	// A line that ends with the first few characters of an encoded
	// value is not held back waiting for the next line.
	line := "id " + b64[:3] + "\n"
	w.Write([]byte(line))
	if out.String() != line {
		t.Fatalf("held back: got %q", out.String())
	}
}

func TestPercentEncodingAnyCase(t *testing.T) {
	value := "p@ss/w0rd:xyz"
	r := New()
	r.Add("pw", value)
	upper := url.QueryEscape(value)
	for _, in := range []string{upper, strings.ToLower(upper), "p%40ss%2fw0rd%3Axyz"} {
		if got := r.String("u=" + in + "&"); got != "u=[redacted pw]&" {
			t.Errorf("%q: got %q", in, got)
		}
	}
	// A value in another case is redacted too.
	if got := r.String("P%40SS%2Fw0rd%3Axyz"); got != "[redacted pw]" {
		t.Errorf("a value differing in case was not redacted: %q", got)
	}
}

func TestJSONEscapeForms(t *testing.T) {
	value := "caf\u00e9/cr\u00e8me-\U0001F600-tok"
	r := New()
	r.Add("tok", value)
	for _, in := range []string{
		`"caf\u00e9/cr\u00e8me-\ud83d\ude00-tok"`,  // Python json.dumps
		`"caf\u00E9/cr\u00E8me-\uD83D\uDE00-tok"`,  // upper-case digits
		`"caf\u00e9\/cr\u00e8me-\ud83d\ude00-tok"`, // PHP json_encode
		`"café\/crème-` + "\U0001F600" + `-tok"`,   // \/ alone
	} {
		if got := r.String(in); got != `"[redacted tok]"` {
			t.Errorf("%s: got %s", in, got)
		}
	}
}

func TestShortLinesWarned(t *testing.T) {
	r := New()
	var warnings []string
	// The warning passes through the Redactor itself, as on the bus.
	r.SetWarn(func(msg string) { warnings = append(warnings, r.String(msg)) })
	key := "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\nq7B=\n-----END KEY-----\n"
	r.Add("tls", key)
	r.Add("tls", key)
	r.Add("long", "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\n")
	if len(warnings) != 1 {
		t.Fatalf("got %d warnings, want one: %q", len(warnings), warnings)
	}
	if w := warnings[0]; !strings.Contains(w, "secret tls: line 3 of its value is shorter than 8 bytes") || strings.Contains(w, "q7B=") {
		t.Fatalf("got %q", w)
	}
}

// BenchmarkWriterBase64 measures redacting base64 text, 76 columns wide,
// in 32 KiB writes, with five secrets known: every byte of such text
// could start an encoded form.
func BenchmarkWriterBase64(b *testing.B) {
	raw := make([]byte, 24<<10)
	for i := range raw {
		raw[i] = byte(i*7919 + i>>8)
	}
	chunk := []byte(lines(base64.StdEncoding.EncodeToString(raw), 76, "\n"))[:32<<10]
	r := New()
	for i := range 5 {
		r.Add("s"+strconv.Itoa(i), "secret-value-number-"+strconv.Itoa(i)+"-xyzzy")
	}
	w := r.Writer(io.Discard)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		w.Write(chunk)
	}
}
