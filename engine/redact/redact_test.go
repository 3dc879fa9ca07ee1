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
