package core

import (
	"path/filepath"
	"strings"
	"testing"
)

// dotenv reads a .env file as compose does, with the environment over
// it, and records the file and the variables it looked up as inputs.
func TestDotenv(t *testing.T) {
	t.Setenv("FERRY_DOTENV_TAG", "from-env")
	res, err := evalFiles(t, map[string]string{
		"ferry.star": `
cfg = dotenv()
want = {"FERRY_DOTENV_TAG": "from-env", "HOST": "db", "QUOTED": "a b # c", "URL": "postgres://db:5432", "EXPORTED": "x"}
if cfg != want:
    fail("dotenv(): %r" % cfg)
own = dotenv("sub/app.env", environ = False)
if own != {"FERRY_DOTENV_TAG": "from-file"}:
    fail("environ = False: %r" % own)
if dotenv("missing.env") != {}:
    fail("missing")
`,
		".env":        "# settings\nFERRY_DOTENV_TAG=from-file\nHOST=db\nQUOTED=\"a b # c\"\nURL=postgres://${HOST}:5432 # the database\nexport EXPORTED=x\n",
		"sub/app.env": "FERRY_DOTENV_TAG=from-file\n",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".env", "sub/app.env", "missing.env"} {
		p := filepath.Join(filepath.Dir(res.Files[0]), f)
		found := false
		for _, rf := range res.Files {
			found = found || rf == p
		}
		if !found {
			t.Errorf("%s is not an input of the evaluation: %v", f, res.Files)
		}
	}
	if res.Env["FERRY_DOTENV_TAG"] != "from-env" {
		t.Errorf("the variable looked up is not recorded: %v", res.Env)
	}
	for src, want := range map[string]string{
		`dotenv("missing.env", required = True)`: `ferry.star:1:7: dotenv: cannot read missing.env`,
		`dotenv("../x.env")`:                     `dotenv: "../x.env" leaves the workspace`,
		`dotenv("bad.env")`:                      `dotenv: bad.env: `,
	} {
		_, err := evalFiles(t, map[string]string{"ferry.star": src, "bad.env": "A='unterminated\n"}, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}
