package seccheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Fixture credentials are put together at run time, so that this file
// does not trip secret scanners itself (ferry lint's included).
var (
	awsID     = "AKIA" + "Z7QW3R9TBN4KDJ2M"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ4hTLmVKE"
	ghToken   = "ghp_" + "Zq8mW2xY7vB4nK1pL9sT3rU6cE0aH5dF8gJ2"
	ghPAT     = "github_pat_" + "11ABCDEFG0abcdefghijkl_mnopQRSTUVwxyz0123456789"
	glToken   = "glpat-" + "x9Fk2LmQ8rTz4WvN1pYb"
	glBody    = "k3Vb9QmX2rLp7TzN4wYc" + "8HdF1sJg6AeU0oRi5KnM" + "2xBvZq9PtW3yLhC7uEj1" + "GfS4aDn8" // 68 characters
	slack     = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	stripe    = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	google    = "AIza" + "SyD3k9Lm2Qx7Vb1Nc8Rt5Yw0Zp4Jh6Gf2Ks"
	pemHead   = "-----BEGIN RSA " + "PRIVATE KEY-----"
	jwt       = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	apiKey    = "q8Zr2Lx" + "N5vT9mWp3Kc7Yb"
	// Published examples, which are not reported.
	awsDocID     = "AKIA" + "IOSFODNN7EXAMPLE"
	awsDocSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
	jwtDoc       = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

func TestSecretPatterns(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "id:line:col"
	}{
		{"AWS key id", "export AWS_ACCESS_KEY_ID=" + awsID + "\n", []string{"FERRY-SEC001:1:26"}},
		{"AWS key id too short", "id = AKIA1234\n", nil},
		{"AWS key id placeholder", "id = AKIA" + strings.Repeat("X", 16) + "\nid = AKIA" + strings.Repeat("0", 16) + "\nid = " + awsDocID + "\n", nil},
		{"AWS secret", "x = 1\naws_secret_access_key = " + awsSecret + "\n", []string{"FERRY-SEC002:2:25"}},
		{"AWS secret quoted", `AWS_SECRET_ACCESS_KEY: "` + awsSecret + `"` + "\n", []string{"FERRY-SEC002:1:25"}},
		{"AWS secret 39 characters", "aws_secret_access_key = " + awsSecret[:39] + "\n", nil},
		{"AWS secret 41 characters", "aws_secret_access_key = " + awsSecret[:20] + "/" + awsSecret[20:] + "\n" + "aws_secret_access_key = " + awsSecret + "+x\n", nil},
		{"AWS secret under another name", "aws_access_key_id = " + awsSecret + "\n", nil},
		{"AWS secret placeholders", "aws_secret_access_key = " + strings.Repeat("X", 40) + "\naws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n" +
			"aws_secret_access_key = <secret-access-key>\naws_secret_access_key = " + awsDocSecret + "\n", nil},
		{"GitHub token", `token: "` + ghToken + "\"\n", []string{"FERRY-SEC003:1:9"}},
		{"GitHub fine-grained token", "GH=" + ghPAT + "\n", []string{"FERRY-SEC003:1:4"}},
		{"ghp_ too short", "name = ghp_abc\n", nil},
		{"GitHub token placeholder", "GH=ghp_" + strings.Repeat("x", 36) + "\n", nil},
		{"GitLab token", "CI_TOKEN=" + glToken + "\n", []string{"FERRY-SEC004:1:10"}},
		{"GitLab token too short", "CI_TOKEN=" + glToken[:25] + "\n", nil},
		{"GitLab token, other prefixes", "a=x" + glToken + "\nb=glpat_" + glToken[6:] + "\nc=GLPAT-" + glToken[6:] + "\n", nil},
		{"GitLab tokens of other kinds", "a=gldt-" + glBody[:20] + "\nb=glrt-" + glBody[:20] + "\nc=glrtr-" + glBody[:20] + "\nd=GR1348941" + glBody[:20] +
			"\ne=glptt-" + "3f9a1c7be2d40586" + "af13c9e7b2d4f6a8" + "0c1e3b5d" + "\nf=glft-" + glBody[:20] + "\ng=glimt-" + glBody[:25] + "\nh=glagent-" + glBody[:50] +
			"\ni=gloas-" + glBody[:64] + "\nj=glsoat-" + glBody[:20] + "\nk=glcbt-" + "64_" + glBody[:20] + "\nl=glffct-" + glBody[:20] + "\n",
			[]string{"FERRY-SEC004:1:3", "FERRY-SEC004:2:3", "FERRY-SEC004:3:3", "FERRY-SEC004:4:3", "FERRY-SEC004:5:3", "FERRY-SEC004:6:3",
				"FERRY-SEC004:7:3", "FERRY-SEC004:8:3", "FERRY-SEC004:9:3", "FERRY-SEC004:10:3", "FERRY-SEC004:11:3", "FERRY-SEC004:12:3"}},
		{"GitLab routable token", "CI_TOKEN=glpat-" + glBody[:38] + ".01" + ".121flyh6j\n", []string{"FERRY-SEC004:1:10"}},
		{"GitLab tokens of other kinds too short", "a=gldt-" + glBody[:19] + "\nb=glimt-" + glBody[:24] + "\nc=glagent-" + glBody[:49] +
			"\nd=gloas-" + glBody[:63] + "\ne=GR1348941" + glBody[:19] + "\n", nil},
		{"GitLab tokens of other kinds, wrong case or inside a word", "a=GLDT-" + glBody[:20] + "\nb=gr1348941" + glBody[:20] + "\nc=xglrt-" + glBody[:20] +
			"\nd=glxyz-" + glBody[:20] + "\n", nil},
		{"GitLab tokens of other kinds, placeholders", "a=gldt-" + strings.Repeat("x", 20) + "\nb=glrt-<runner-token>\nc=GR1348941" + strings.Repeat("X", 20) +
			"\nd=glptt-${TRIGGER_TOKEN}\ne=glagent-" + strings.Repeat("0", 50) + "\nf=gloas-...\n", nil},
		{"GitLab token placeholders", "CI_TOKEN=glpat-" + strings.Repeat("x", 20) + "\nCI_TOKEN=glpat-<your-token>\nCI_TOKEN=glpat-${GITLAB_TOKEN}\n" +
			"CI_TOKEN=glpat-" + strings.Repeat("0", 20) + "\n", nil},
		{"Slack token", "hook: " + slack + "\n", []string{"FERRY-SEC005:1:7"}},
		{"Slack token, wrong prefix", "hook: xoxz-" + slack[5:] + "\nhook: xox-" + slack[5:] + "\n", nil},
		{"Slack token too short", "hook: xoxb-1234-abcdefg\n", nil},
		{"Slack token placeholders", "hook: xoxb-your-token-here\nhook: xoxb-" + strings.Repeat("x", 12) + "-" + strings.Repeat("x", 24) + "\n" +
			"hook: xoxb-123456789012-" + strings.Repeat("X", 24) + "\nhook: xoxb-<token>\nhook: xoxb-${SLACK_TOKEN}\n", nil},
		{"Stripe live key", "STRIPE=" + stripe + "\n", []string{"FERRY-SEC006:1:8"}},
		{"Stripe test key", "STRIPE=sk_test_4eC39HqLyjWDarjtT1zdp7dc\n", nil},
		{"Stripe placeholders", "STRIPE=sk_live_" + strings.Repeat("x", 24) + "\nSTRIPE=sk_live_...\nSTRIPE=sk_live_<key>\n", nil},
		{"Google API key", "maps(" + google + ")\n", []string{"FERRY-SEC007:1:6"}},
		{"Google API key at the end of a line", "key=" + google, []string{"FERRY-SEC007:1:5"}},
		{"Google API key, wrong length", "maps(" + google[:38] + ")\nmaps(" + google + "Q)\n", nil},
		{"Google API key, wrong prefix", "maps(aiza" + google[4:] + ")\nmaps(AIzb" + google[4:] + ")\n", nil},
		{"Google API key placeholders", "maps(AIza" + strings.Repeat("X", 35) + ")\nmaps(AIzaSy<your-api-key>)\nmaps(AIza...)\n", nil},
		{"private key", "a\n" + pemHead + "\nMIIE\n", []string{"FERRY-SEC008:2:1"}},
		{"public key", "-----BEGIN PUBLIC KEY-----\n", nil},
		{"JWT", "Authorization: Bearer " + jwt + "\n", []string{"FERRY-SEC009:1:23"}},
		{"JWT example of the docs", "Authorization: Bearer " + jwtDoc + "\n", nil},
		{"JWT with no signature", "Authorization: Bearer " + jwt[:strings.LastIndex(jwt, ".")+1] + "\n", nil},
		{"JWT-like, header not JSON", "t = eyJub3QganNvbiBhdCBhbGw" + jwt[strings.Index(jwt, "."):] + "\n", nil},
		{"JWT placeholders", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJ" + strings.Repeat("x", 20) + "." + strings.Repeat("x", 20) + "\n" +
			"Authorization: Bearer eyJhbGciOi...\n", nil},
		{"password assignment", `db_password = "hunter22"` + "\n", []string{"FERRY-SEC010:1:16"}},
		{"password in a dict", `env = {"DB_PASSWORD": "s3cr3t!"}` + "\n", []string{"FERRY-SEC010:1:24"}},
		{"password from a variable", "db_password = os.env(\"DB_PASSWORD\")\npassword := cfg.Password\n", nil},
		{"password placeholder", `password = "changeme"` + "\n" + `PASSWORD: "${DB_PASSWORD}"` + "\n" + `pass = "xxxxxxxx"` + "\n", nil},
		{"a password file's path, not a password", `env = {"POSTGRES_PASSWORD_FILE": "/run/secrets/db-password"}` + "\n" +
			`MYSQL_PASSWORD_FILE: "./secrets/mysql"` + "\n" + `pass_file = "~/.pgpass"` + "\n", nil},
		{"a path, not a name", `"/etc/passwd": "root:x:0:0:root:/root:/bin/sh"` + "\n", nil},
		{"high-entropy api key", `api_key = "` + apiKey + `"` + "\n", []string{"FERRY-SEC011:1:12"}},
		{"low-entropy token", `token = "aaaaaaaabbbbbbbbcccc"` + "\n", nil},
		{"secret name, word value", `secret_name = "database-password-prod"` + "\n", nil},
		{"ignored on the line", `db_password = "hunter22"  # ferry:ignore FERRY-SEC010` + "\n", nil},
		{"ignored on the line before", "# ferry:ignore FERRY-SEC001\nid = " + awsID + "\n", nil},
		{"ignore names another rule", "// ferry:ignore FERRY-SEC002\nid = " + awsID + "\n", []string{"FERRY-SEC001:2:6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, h := range scanText("conf/app.env", []byte(tt.src), 1) {
				got = append(got, fmt.Sprintf("%s:%d:%d", h.Rule, h.Line, h.Col))
				if strings.Contains(h.Message, h.secret) || strings.Contains(h.String(), h.secret) {
					t.Errorf("finding shows the whole secret: %s", h)
				}
				if h.File != "conf/app.env" || h.Fix == "" {
					t.Errorf("finding %+v: want the file and a fix", h.Finding)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// A routable GitLab token (<random>.<version>.<length and CRC>) is found
// whole, so that it is told apart from another with the same random part.
func TestGitLabRoutableToken(t *testing.T) {
	tok := "glrtr-" + glBody[:38] + ".01" + ".121flyh6j"
	hits := scanText("register.sh", []byte("gitlab-runner register --token "+tok+"\n"), 1)
	if len(hits) != 1 || hits[0].Rule != "FERRY-SEC004" || hits[0].secret != tok {
		t.Fatalf("got %v, want one finding of the whole token", hits)
	}
}

func TestScanTextFirstLine(t *testing.T) {
	hits := scanText("a.txt", []byte("x\nid = "+awsID+"\n"), 40)
	if len(hits) != 1 || hits[0].Line != 41 {
		t.Fatalf("got %v, want one finding on line 41", hits)
	}
}

func TestMask(t *testing.T) {
	for _, s := range []string{"hunter2", ghToken, "abcd"} {
		m := mask(s)
		if strings.Contains(m, s) || !strings.Contains(m, fmt.Sprintf("(%d characters)", len(s))) {
			t.Errorf("mask(%q) = %q", s, m)
		}
	}
	if m := mask(ghToken); !strings.HasPrefix(m, "ghp_") {
		t.Errorf("mask(GitHub token) = %q, want the ghp_ prefix shown", m)
	}
}

func TestEntropy(t *testing.T) {
	if e := entropy("aaaa"); e != 0 {
		t.Errorf("entropy(aaaa) = %v", e)
	}
	if e := entropy("abcd"); e != 2 {
		t.Errorf("entropy(abcd) = %v", e)
	}
}
