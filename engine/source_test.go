package engine

import (
	"strings"
	"testing"
)

// Starlark reads a NUL byte as the end of the file and replaces invalid
// UTF-8 in a string with U+FFFD, both without a word: ferry refuses such
// files, with the position of the first offending byte.
func TestSourceRefused(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"NUL ends the file", map[string]string{"ferry.star": "rule('a')\nrule('b') \x00\nrule('c')\n"},
			[]string{"ferry.star:2:11: ", "NUL byte", "everything after it would be ignored", "Remove it"}},
		{"NUL in a comment", map[string]string{"ferry.star": "rule('a')  # \x00 \nrule('b')\n"}, []string{"ferry.star:1:14: ", "NUL byte"}},
		{"NUL in a string", map[string]string{"ferry.star": "rule('a\x00b')\n"}, []string{"ferry.star:1:8: ", "NUL byte", `\x00`}},
		{"NUL after CR line ends", map[string]string{"ferry.star": "rule('a')\r\nrule('b')\r\r\x00"}, []string{"ferry.star:4:1: ", "NUL byte"}},
		{"NUL after a multi-byte character", map[string]string{"ferry.star": "rule('é€')\x00"}, []string{"ferry.star:1:11: ", "NUL byte"}},
		{"NUL in a loaded module", map[string]string{"ferry.star": "load('//lib/a.star', 'a')\nrule(a)\n", "lib/a.star": "a = 'a'\n\x00\nfail('never')\n"},
			[]string{"lib/a.star:2:1: ", "NUL byte"}},
		{"UTF-16", map[string]string{"ferry.star": "\xff\xfer\x00u\x00l\x00e\x00"}, []string{"ferry.star:1:1: ", "UTF-16", "save it as UTF-8"}},
		{"UTF-16 without a byte order mark", map[string]string{"ferry.star": "r\x00u\x00l\x00e\x00"}, []string{"ferry.star:1:2: ", "NUL byte", "UTF-16"}},
		{"invalid UTF-8 in a string", map[string]string{"ferry.star": "rule('caf\xe9')\n"}, []string{"ferry.star:1:10: ", "not valid UTF-8", "byte 0xe9", "U+FFFD", "save the file as UTF-8"}},
		{"invalid UTF-8 in a comment", map[string]string{"ferry.star": "rule('a')\n# \xed\xa0\x80\n"}, []string{"ferry.star:2:3: ", "not valid UTF-8", "byte 0xed"}},
		{"UTF-8 byte order mark not at the start", map[string]string{"ferry.star": "rule('a')\n\xef\xbb\xbfrule('b')\n"}, []string{"ferry.star:2:1: ", "unexpected input character"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := evaluate(t, tt.files, nil)
			if err == nil {
				var names []string
				for _, r := range res.Rules {
					names = append(names, r.Info().Name)
				}
				t.Fatalf("no error; the evaluation declared %q", names)
			}
			wantErr(t, err, tt.want...)
		})
	}
}

// A UTF-8 byte order mark at the start of a file (which some Windows
// editors write) is no part of the text: ferry drops it, as Go and Python
// do, and positions count from the first character after it.
func TestSourceByteOrderMark(t *testing.T) {
	res, events, err := evaluate(t, map[string]string{
		"ferry.star": "\xef\xbb\xbfload('//a.star', 'a')\nrule(a)\nprint('\ufeffkept')\n",
		"a.star":     "\xef\xbb\xbfa = 'a'",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rules) != 1 || res.Rules[0].Info().Name != "a" {
		t.Errorf("rules = %v", res.Rules)
	}
	if len(events) != 1 || events[0].Text != "\ufeffkept" || events[0].Pos != "ferry.star:3:6" {
		t.Errorf("print events = %+v", events)
	}
	_, _, err = evaluate(t, map[string]string{"ferry.star": "\xef\xbb\xbfrule(3)"}, nil)
	wantErr(t, err, "ferry.star:1:5: ")
	if err != nil && strings.Contains(err.Error(), "\ufeff") {
		t.Errorf("the error shows the byte order mark: %v", err)
	}
}
