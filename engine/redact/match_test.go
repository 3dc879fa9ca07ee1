package redact

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMatcherNilWithoutValues(t *testing.T) {
	if m := New().Matcher(); m != nil {
		t.Fatalf("Matcher of an empty Redactor = %v, want nil", m)
	}
}

func TestMatcherFindsPlainValuesAndLines(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	r.Add("key", "-----BEGIN-----\r\nline-one-of-key\r\n-----END-----\n")
	m := r.Matcher()
	for _, tt := range []struct {
		in   string
		want string // "" for no match
	}{
		{"x " + secret + " y", "tok"},
		{"no value here", ""},
		{hexString(secret), ""}, // encodings are not looked for
		{"...line-one-of-key...", "key"},
		{"-----END-----", "key"},
	} {
		name, ok := m.Find([]byte(tt.in))
		if name != tt.want || ok != (tt.want != "") {
			t.Errorf("Find(%q) = %q, %v; want %q", tt.in, name, ok, tt.want)
		}
	}
}

func hexString(s string) string { return fmt.Sprintf("%x", s) }

// TestGuardSplitValue writes a value cut at every place across two writes:
// the Guard refuses the second write, and nothing of the value got out.
func TestGuardSplitValue(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	text := "prefix " + secret + " suffix"
	start := strings.Index(text, secret)
	for cut := 0; cut <= len(text); cut++ {
		var out bytes.Buffer
		g := r.Matcher().Guard(&out)
		_, err1 := g.Write([]byte(text[:cut]))
		var err2 error
		if err1 == nil {
			_, err2 = g.Write([]byte(text[cut:]))
		}
		var fe *FoundError
		if err := errors.Join(err1, err2); !errors.As(err, &fe) || fe.Name != "tok" {
			t.Fatalf("cut %d: err = %v, want a FoundError for tok", cut, err)
		}
		if strings.Contains(fe.Error(), secret) {
			t.Fatalf("the error shows the value: %v", fe)
		}
		if out.Len() > start {
			t.Fatalf("cut %d: passed on %q, which reaches into the value", cut, out.String())
		}
	}
}

func TestGuardPassesCleanStreams(t *testing.T) {
	r := New()
	r.Add("tok", secret)
	g := r.Matcher().Guard(nil)
	for _, text := range []string{"first stream, clean", "s3cr3t but not the rest of it", ""} {
		var out bytes.Buffer
		g.out = &out
		for i := 0; i < len(text); i += 3 {
			if _, err := g.Write([]byte(text[i:min(i+3, len(text))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != text {
			t.Errorf("passed on %q, want %q", out.String(), text)
		}
	}
}

// BenchmarkGuard measures the scan of a build context's bytes: 32 KiB
// writes, as io.Copy makes them, with 1 and with 10 values known.
func BenchmarkGuard(b *testing.B) {
	chunk := make([]byte, 32<<10)
	rand.Read(chunk)
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			r := New()
			for i := range n {
				r.Add(fmt.Sprint("s", i), fmt.Sprintf("value-%d-of-a-secret-%x", i, chunk[i:i+8]))
			}
			g := r.Matcher().Guard(discard{})
			b.SetBytes(int64(len(chunk)))
			for range b.N {
				if _, err := g.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
