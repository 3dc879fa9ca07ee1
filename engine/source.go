package engine

import (
	"bytes"
	"unicode/utf8"

	"go.starlark.net/syntax"
)

var (
	utf8BOM    = []byte("\xef\xbb\xbf")
	utf16LEBOM = []byte("\xff\xfe")
	utf16BEBOM = []byte("\xfe\xff")
)

// checkSource returns the source of the module shown as display without a
// leading UTF-8 byte order mark, which is no part of the text (Go and
// Python drop it too). It refuses what the Starlark scanner would misread
// without a word: a NUL byte, which it takes for the end of the file, and
// bytes that are not UTF-8, which it turns into U+FFFD inside a string.
func checkSource(display string, src []byte) ([]byte, error) {
	if bytes.HasPrefix(src, utf16LEBOM) || bytes.HasPrefix(src, utf16BEBOM) {
		return nil, Errorf(syntax.MakePosition(&display, 1, 1),
			"the file is UTF-16 (it starts with a UTF-16 byte order mark), and Starlark files are UTF-8: save it as UTF-8 (its editor's encoding setting)")
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	if bytes.IndexByte(src, 0) < 0 && utf8.Valid(src) {
		return src, nil
	}
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == 0:
			return nil, Errorf(sourcePos(display, src, i),
				`the file holds a NUL byte, which Starlark reads as the end of the file: everything after it would be ignored without a word. `+
					`Remove it (in a string, write "\x00"); a file with a NUL byte after every letter was saved as UTF-16: save it as UTF-8`)
		case r == utf8.RuneError && size == 1:
			return nil, Errorf(sourcePos(display, src, i),
				`the file is not valid UTF-8 here (byte 0x%02x), and Starlark would read such bytes in a string as U+FFFD without a word: `+
					`save the file as UTF-8 (its editor's encoding setting), or write such bytes as escapes in a bytes literal (b"\x%02x")`, src[i], src[i])
		}
		i += size
	}
	return src, nil
}

// sourcePos returns the position of byte offset off in src as Starlark
// counts it: lines end at "\n", "\r\n" or "\r", and columns count runes.
// src[:off] must be valid UTF-8.
func sourcePos(display string, src []byte, off int) syntax.Position {
	line, start := int32(1), 0
	for i := 0; i < off; i++ {
		switch {
		case src[i] == '\n', src[i] == '\r' && (i+1 >= len(src) || src[i+1] != '\n'):
			line++
			start = i + 1
		}
	}
	return syntax.MakePosition(&display, line, int32(utf8.RuneCount(src[start:off]))+1)
}
