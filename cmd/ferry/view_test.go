package main

import (
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const viewStar = `
task(name = "build", cmd = "echo building", srcs = ["a.txt"])
task(name = "seed", cmd = "echo seeded >> seed.log", trigger = "manual")
`

// Not on a terminal, the watch logs plain lines.
func TestWatchPlainLinesWithoutTerminal(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": viewStar, "a.txt": "1\n"})
	p := ws.start(t, "watch")
	eventually(t, "the watch to start", func() bool { return strings.Contains(p.stderr.String(), "watching ") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if strings.Contains(r.stderr, "\x1b") {
		t.Errorf("escape sequences in a non-terminal watch's output:\n%q", r.stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !regexp.MustCompile(`^\d\d:\d\d:\d\d `).MatchString(l) {
			t.Errorf("not a plain log line: %q", l)
		}
	}
	r.wantStderrMatch(t, `build │ building`)
}

// On a terminal (a pty from script(1)), the watch shows the status view:
// a line per rule; j moves to the manual rule, t runs it, q quits with 0
// and prints the rules' summary.
func TestWatchStatusViewOnTerminal(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": viewStar, "a.txt": "1\n"})
	out, keys, done, waitErr := startOnTerminal(t, ws.dir, nil, "watch")
	eventually(t, "the view to show build done and seed waiting", func() bool {
		s := out.String()
		return regexp.MustCompile(`build +task +(\x1b\[\d+m)?ok`).MatchString(s) && regexp.MustCompile(`seed +task +(\x1b\[\d+m)?manual`).MatchString(s)
	})
	io.WriteString(keys, "j")
	eventually(t, "seed to be selected", func() bool { return strings.Contains(out.String(), "▸ seed") })
	io.WriteString(keys, "t")
	eventually(t, "seed to run", func() bool { return ws.countLines("seed.log", "seeded") == 1 })
	io.WriteString(keys, "q")
	select {
	case <-done:
		if *waitErr != nil {
			t.Fatalf("watch ended with %v\n%q", *waitErr, out.String())
		}
	case <-time.After(waitLimit):
		t.Fatalf("q did not end the watch\n%q", out.String())
	}
	s := out.String()
	tail := s[strings.LastIndex(s, "\x1b[?1049l"):]
	lines := strings.Split(strings.ReplaceAll(tail, "\r", ""), "\n")
	if !slices.ContainsFunc(lines, regexp.MustCompile(`^seed +ok `).MatchString) || !slices.ContainsFunc(lines, regexp.MustCompile(`^build +ok `).MatchString) {
		t.Errorf("no summary of the rules after the view closed:\n%q", tail)
	}
}

// startOnTerminal runs ferry with args in dir on a terminal (a pty from
// script(1), 100 columns by 24 rows), with ferry's environment but CI and
// with env added. It returns what the terminal shows, the keys' pipe, a
// channel closed when ferry has ended and then the error of its end.
func startOnTerminal(t *testing.T, dir string, env []string, args ...string) (*syncBuffer, io.Writer, <-chan struct{}, *error) {
	t.Helper()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatal("script(1) from util-linux is needed to run ferry on a terminal")
	}
	cmd := exec.Command(script, "-qfec", "stty cols 100 rows 24; exec "+ferryBin+" "+strings.Join(args, " "), "/dev/null")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CI=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // do not wait for output after script is killed
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	return out, keys, done, &waitErr
}

// The status view shows a task's output as the bus redacted it: a secret
// the task echoes is [redacted tok] on the terminal, never its value.
func TestWatchStatusViewRedactsSecrets(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", env = "` + envSecretVar + `")
task(name = "leak", cmd = "echo value=$TOK", srcs = ["a.txt"], secrets = {"TOK": tok})
`,
		"a.txt": "1\n",
	})
	out, keys, done, waitErr := startOnTerminal(t, ws.dir, []string{envSecretVar + "=" + leakValue}, "watch")
	eventually(t, "the view to show leak done", func() bool {
		return regexp.MustCompile(`leak +task +(\x1b\[\d+m)?ok`).MatchString(out.String())
	})
	io.WriteString(keys, "q")
	select {
	case <-done:
		if *waitErr != nil {
			t.Fatalf("watch ended with %v\n%q", *waitErr, out.String())
		}
	case <-time.After(waitLimit):
		t.Fatalf("q did not end the watch\n%q", out.String())
	}
	wantNoLeak(t, "the terminal", out.String())
	if !strings.Contains(out.String(), "value=[redacted tok]") {
		t.Errorf("no value=[redacted tok] on the terminal:\n%q", out.String())
	}
}
