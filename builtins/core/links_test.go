package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Markers stand for the contents of /etc/passwd and of an age identity:
// they must never reach output, errors or what a hash reads.
const (
	markerPasswd = "root:x:0:0:MARKER-PASSWD"
	markerAge    = "AGE-SECRET-KEY-1MARKERMARKER"
)

// linkWorkspace makes a workspace with files and links (link → target; a
// target "OUT/..." lies in a folder outside the workspace that holds passwd
// and age/keys.txt with the markers). It returns the workspace and the
// outside folder.
func linkWorkspace(t *testing.T, files, links map[string]string) (*engine.Workspace, string) {
	t.Helper()
	out := t.TempDir()
	root := t.TempDir()
	write := func(dir string, files map[string]string) {
		for name, body := range files {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(out, map[string]string{"passwd": markerPasswd + ":/root:/bin/sh\n", "age/keys.txt": "# created: 2026-01-01\n" + markerAge + "\n"})
	write(root, files)
	for link, target := range links {
		if rest, ok := strings.CutPrefix(target, "OUT"); ok {
			target = out + rest
		}
		p := filepath.Join(root, link)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return &engine.Workspace{Root: root, File: filepath.Join(root, engine.FileName)}, out
}

// evalLinks evaluates ws and returns what print() wrote along with the error.
func evalLinks(t *testing.T, ws *engine.Workspace) (*engine.Result, string, error) {
	t.Helper()
	var mu sync.Mutex
	var printed strings.Builder
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{Plugin{}},
		Events: engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
			mu.Lock()
			printed.WriteString(e.Text + "\n")
			mu.Unlock()
		})),
	})
	return res, printed.String(), err
}

func noMarker(t *testing.T, what, s string) {
	t.Helper()
	for _, m := range []string{markerPasswd, markerAge} {
		if strings.Contains(s, m) {
			t.Errorf("%s holds the contents of a file outside the workspace (%q):\n%s", what, m, s)
		}
	}
}

func wantErrParts(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
	noMarker(t, "the error", err.Error())
}

// read_file refuses a link that leads out of the workspace, at the call's
// position, naming the link and where it points; links inside are followed.
func TestReadFileLinks(t *testing.T) {
	for _, tc := range []struct{ call, want string }{
		{`read_file("passwd")`, "passwd is a link to OUT/passwd"},
		{`read_file("id.txt")`, "id.txt is a link to ../"},
		{`read_file("keys/keys.txt")`, "keys/keys.txt lies behind keys, a link to OUT/age"},
		{`read_file("sub/up/x")`, "sub/up/x lies behind sub/up, a link to ../.."},
	} {
		ws, out := linkWorkspace(t, map[string]string{
			engine.FileName: "print(read_file(\"in.txt\"))\nprint(" + tc.call + ")\n",
			"real/in.txt":   "inside\n",
		}, map[string]string{
			"in.txt": "real/in.txt",
			"passwd": "OUT/passwd",
			"keys":   "OUT/age",
			"sub/up": "../..",
		})
		rel, _ := filepath.Rel(ws.Root, filepath.Join(out, "age/keys.txt"))
		os.Symlink(rel, filepath.Join(ws.Root, "id.txt"))
		_, printed, err := evalLinks(t, ws)
		wantErrParts(t, err, "ferry.star:2:", "read_file", strings.ReplaceAll(tc.want, "OUT", out))
		noMarker(t, "the output of "+tc.call, printed)
		if !strings.Contains(printed, "inside") {
			t.Errorf("%s: a link inside the workspace was not followed: printed %q", tc.call, printed)
		}
	}
}

// glob lists links as entries and never walks into a linked folder, so a
// loop or a link out is no error and nothing outside is listed; a literal
// folder in a pattern that links out is refused.
func TestGlobLinks(t *testing.T) {
	ws, out := linkWorkspace(t, map[string]string{
		engine.FileName: `print(glob(["**"]))
print(glob(["src/**/*"]))
`,
		"src/a.txt": "a",
	}, map[string]string{
		"src/passwd": "OUT/passwd",
		"src/age":    "OUT/age",
		"src/loopa":  "loopb",
		"src/loopb":  "loopa",
		"src/self":   ".",
		"src/parent": "..",
		"vendor":     "src",
	})
	_, printed, err := evalLinks(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	want := `["ferry.star", "src/a.txt", "src/age", "src/loopa", "src/loopb", "src/parent", "src/passwd", "src/self", "vendor"]
["src/a.txt", "src/age", "src/loopa", "src/loopb", "src/parent", "src/passwd", "src/self"]
`
	if printed != want {
		t.Errorf("printed\n%s\nwant\n%s", printed, want)
	}
	if strings.Contains(printed, out) || strings.Contains(printed, "keys.txt") {
		t.Errorf("a glob listed files outside the workspace: %s", printed)
	}

	ws.File = filepath.Join(ws.Root, "out.star")
	os.WriteFile(ws.File, []byte("glob([\"src/age/*\"])\n"), 0o644)
	_, _, err = evalLinks(t, ws)
	wantErrParts(t, err, "out.star:1:", "glob", "src/age", out+"/age")
}

// A task whose dir is a link out of the workspace does not run; an output
// that is a link is hashed as a link, and the folders of outputs are not
// made through a link out.
func TestTaskDirAndOutsLinks(t *testing.T) {
	ws, out := linkWorkspace(t, map[string]string{
		engine.FileName: `task(name = "indir", cmd = "cat passwd", dir = "etc")
task(name = "out", cmd = "true", outs = ["o.txt"])
task(name = "mkdir", cmd = "true", outs = ["esc/new/o.txt"])
task(name = "read", run = lambda ctx: print(ctx.read("o.txt")))
`,
	}, map[string]string{
		"etc":   "OUT",
		"o.txt": "OUT/passwd",
		"esc":   "OUT",
	})
	res, _, err := evalLinks(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []engine.Event
	e := engine.NewEngine(ws, g, st, engine.NewBus(redact.New(), engine.SinkFunc(func(ev engine.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})))
	e.Run(context.Background(), nil, engine.RunOptions{Jobs: 1, KeepGoing: true})
	failed := map[string]string{}
	var all strings.Builder
	for _, ev := range events {
		all.WriteString(ev.Text + ev.Err + "\n")
		if ev.Kind == engine.EventRuleFail {
			failed[ev.Rule] = ev.Err
		}
	}
	noMarker(t, "the events", all.String())
	if got := failed["indir"]; !strings.Contains(got, "etc is a link to "+out) || !strings.Contains(got, "ferry.star:1:") {
		t.Errorf("indir: got %q, want a refusal of the link etc at ferry.star:1", got)
	}
	if got := failed["mkdir"]; !strings.Contains(got, "esc/new lies behind esc, a link to "+out) {
		t.Errorf("mkdir: got %q, want a refusal of the link esc", got)
	}
	if _, err := os.Stat(filepath.Join(out, "new")); err == nil {
		t.Errorf("a folder was made outside the workspace, through the link esc")
	}
	if got := failed["read"]; !strings.Contains(got, "o.txt is a link to "+out+"/passwd") {
		t.Errorf("read: got %q, want a refusal of the link o.txt", got)
	}
	if _, ok := failed["out"]; ok {
		t.Errorf("out: failed: %s", failed["out"])
	}
	rs := st.Rule("out")
	if rs == nil || len(rs.Outputs) != 1 {
		t.Fatalf("out: state %+v, want one output", rs)
	}
	content, _ := os.ReadFile(filepath.Join(out, "passwd"))
	if rs.Outputs[0].Sum == engine.HashBytes(content) {
		t.Errorf("the output o.txt was hashed by the contents of the file it links to")
	}
}
