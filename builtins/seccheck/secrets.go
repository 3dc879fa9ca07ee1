package seccheck

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A secretPattern finds one kind of credential. The regexp runs only on
// files that contain one of its keywords (lowercase), which keeps the scan
// fast; its last capturing group is the secret.
type secretPattern struct {
	id       string
	keywords []string
	re       *regexp.Regexp
	// accept, when set, vets a match: a placeholder or a low-entropy value
	// is no credential.
	accept func(secret string) bool
	// headerOnly is set when the match is the same for every secret of its
	// kind, as a private key's BEGIN line is: the line after it tells two
	// secrets apart.
	headerOnly bool
}

// assignment matches NAME = "value", NAME: 'value', "NAME": "value" and
// NAME := "value", where NAME contains one of words (and is not the end of
// a path, as in "/etc/passwd": "…").
func assignment(words string, minLen int) *regexp.Regexp {
	return regexp.MustCompile(`(?im)(?:^|[^/a-z0-9_.-])[a-z0-9_.-]*(?:` + words + `)[a-z0-9_.-]*["']?\s*(?::=|=|:)\s*["']([^"'\s]{` + fmt.Sprint(minLen) + `,})["']`)
}

// secretPatterns compiles the patterns at their first use, not at
// start-up: every ferry process, the supervisor included, would pay for
// them.
var secretPatterns = sync.OnceValue(func() []secretPattern {
	return []secretPattern{
		{id: "FERRY-SEC001", keywords: []string{"akia", "asia"}, re: regexp.MustCompile(`\b((?:AKIA|ASIA)[0-9A-Z]{16})\b`), accept: realToken},
		{id: "FERRY-SEC002", keywords: []string{"aws"}, re: regexp.MustCompile(`(?i)aws_?secret_?(?:access_?)?key["']?\s*(?::=|=|:)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`), accept: realToken},
		{id: "FERRY-SEC003", keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, re: regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`), accept: realToken},
		// GitLab's token prefixes, with the shortest random part each kind has;
		// a routable token ends in .<version>.<length and CRC>.
		{id: "FERRY-SEC004", keywords: []string{"glpat-", "gldt-", "glrt-", "glrtr-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-", "gr1348941"},
			re:     regexp.MustCompile(`\b((?:(?:glpat|gldt|glrtr?|glcbt|glptt|glft|glsoat|glffct)-[A-Za-z0-9_-]{20,}|glimt-[A-Za-z0-9_-]{25,}|glagent-[A-Za-z0-9_-]{50,}|gloas-[A-Za-z0-9_-]{64,}|GR1348941[A-Za-z0-9_-]{20,})(?:\.[0-9a-z]{2}\.[0-9a-z]{9}\b)?)`),
			accept: realToken},
		// Every Slack token has a numeric id after its prefix.
		{id: "FERRY-SEC005", keywords: []string{"xox"}, re: regexp.MustCompile(`\b(xox[abposr]-[0-9]+-[A-Za-z0-9-]{8,})`), accept: realToken},
		{id: "FERRY-SEC006", keywords: []string{"_live_"}, re: regexp.MustCompile(`\b((?:sk|rk)_live_[A-Za-z0-9]{16,})`), accept: realToken},
		{id: "FERRY-SEC007", keywords: []string{"aiza"}, re: regexp.MustCompile(`\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`), accept: realToken},
		{id: "FERRY-SEC008", keywords: []string{"private key"}, re: regexp.MustCompile(`(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)`), headerOnly: true},
		{id: "FERRY-SEC009", keywords: []string{"eyj"}, re: regexp.MustCompile(`\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})`), accept: realJWT},
		{id: "FERRY-SEC010", keywords: []string{"pass", "pwd"}, re: assignment(`password|passwd|pwd|pass`, 4), accept: notPlaceholder},
		{id: "FERRY-SEC011", keywords: []string{"secret", "token", "key", "auth", "credential"}, re: assignment(`secret|token|api_?key|apikey|auth|credential|private_?key|access_?key`, 16), accept: highEntropy},
	}
})

// docExamples are credentials published in documentation, there to be
// copied: jwt.io's example token, by its signature. (AWS's examples end in
// EXAMPLE, which placeholder knows.)
var docExamples = []string{"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}

// placeholder reports whether s stands in for a credential rather than
// being one: a template or variable (${VAR}, $(cmd), {{ .Token }},
// <token>, %s), a masked or elided value (***, ..., xxx, XXX), a
// documentation example (AKIAIOSFODNN7EXAMPLE), or one character repeated.
// An "xxx" of mixed case is left to count: random tokens have those.
func placeholder(s string) bool {
	l := strings.ToLower(s)
	for _, t := range []string{"${", "$(", "{{", "<", "%s", "%v", "***", "...", "example"} {
		if strings.Contains(l, t) {
			return true
		}
	}
	if strings.Contains(s, "xxx") || strings.Contains(s, "XXX") ||
		slices.ContainsFunc(docExamples, func(e string) bool { return strings.Contains(s, e) }) {
		return true
	}
	return strings.Trim(l, l[:1]) == ""
}

// notPlaceholder reports whether a password literal looks real: not a
// placeholder or a well-known stand-in word.
func notPlaceholder(s string) bool {
	switch strings.ToLower(s) {
	case "password", "passwd", "changeme", "change-me", "secret", "redacted", "none", "null", "true", "false", "test", "dummy":
		return false
	}
	return !placeholder(s) && !filePath(s)
}

// filePath reports whether a password literal is a file's path, as the
// value of POSTGRES_PASSWORD_FILE is (/run/secrets/db): where the password
// is, not the password.
func filePath(s string) bool {
	for _, p := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// realToken vets a provider's token found by its prefix: not a
// placeholder, and random enough (3 bits per character) that it is no
// run of zeros or sequence typed in by hand.
func realToken(s string) bool {
	return !placeholder(s) && entropy(s) >= 3
}

// realJWT vets a JSON Web Token: a real token, whose header is base64url
// JSON naming its algorithm.
func realJWT(s string) bool {
	head, _, _ := strings.Cut(s, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		Alg string `json:"alg"`
	}
	return err == nil && json.Unmarshal(b, &h) == nil && h.Alg != "" && realToken(s)
}

// highEntropy reports whether s looks random: at least 3.5 bits of
// entropy per character, as keys and tokens have and words do not.
func highEntropy(s string) bool {
	return notPlaceholder(s) && entropy(s) >= 3.5
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(s))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// mask shows enough of a secret to find it (a provider prefix, say) and
// never all of it.
func mask(s string) string {
	n := min(4, len(s)/4)
	return fmt.Sprintf("%s… (%d characters)", s[:n], len(s))
}

// A secretHit is a finding of the secret scan, with the secret it found
// (kept to tell the same secret in two places, never printed; for a
// headerOnly pattern, with the line after the match).
type secretHit struct {
	Finding
	secret string
}

// scanText returns the credentials in src, the text of file whose first
// line is line first. A "ferry:ignore" comment on a line, or on the line
// before it, silences the rules it names there. Each pattern runs only on
// the lines that hold one of its keywords.
func scanText(file string, src []byte, first int) []secretHit {
	lower := asciiLower(src)
	starts := lineOffsets(src)
	var hits []secretHit
	var lines []string
	var spans [][2]int // where the secrets found so far are
	for _, p := range secretPatterns() {
		for _, i := range keywordLines(lower, starts, p.keywords) {
			lo, hi := starts[i], len(src)
			if i+1 < len(starts) {
				hi = starts[i+1]
			}
			for _, m := range p.re.FindAllSubmatchIndex(src[lo:hi], -1) {
				g := len(m) - 2
				from, to := lo+m[g], lo+m[g+1]
				secret := string(src[from:to])
				if p.accept != nil && !p.accept(secret) {
					continue
				}
				// The generic rules come last: a secret a provider's rule
				// found is not reported twice.
				if slices.ContainsFunc(spans, func(s [2]int) bool { return s[0] < to && from < s[1] }) {
					continue
				}
				spans = append(spans, [2]int{from, to})
				if lines == nil {
					lines = strings.Split(string(src), "\n")
				}
				if ignoredAt(lines, i+1, p.id) {
					continue
				}
				f := finding(p.id, file, first+i, fmt.Sprintf("%s: %s", ruleByID(p.id).Title, mask(secret)))
				f.Col = from - lo + 1
				if p.headerOnly && i+1 < len(lines) {
					secret += "\n" + lines[i+1]
				}
				hits = append(hits, secretHit{Finding: f, secret: secret})
			}
		}
	}
	return hits
}

// asciiLower returns a copy of b with A-Z lowered, at the same offsets.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// keywordLines returns, in order, the indexes of the lines (starting at
// starts) of lower that contain one of words.
func keywordLines(lower []byte, starts []int, words []string) []int {
	var idx []int
	for _, w := range words {
		for off := 0; ; {
			j := bytes.Index(lower[off:], []byte(w))
			if j < 0 {
				break
			}
			i := sort.Search(len(starts), func(i int) bool { return starts[i] > off+j }) - 1
			idx = append(idx, i)
			// Go on from the next line: one hit per line is enough.
			if i+1 >= len(starts) {
				break
			}
			off = starts[i+1]
		}
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// lineOffsets returns the offset at which each line of src starts.
func lineOffsets(src []byte) []int {
	offs := []int{0}
	for i, c := range src {
		if c == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}
