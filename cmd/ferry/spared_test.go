package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rootSleeperSrc becomes root for good (its set-user-ID bit makes it root
// in effect) and sleeps: a process that the user who started it may no
// longer signal, as `sudo daemon &` in a task leaves.
const rootSleeperSrc = `package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := syscall.Setuid(0); err != nil {
		panic(err)
	}
	os.WriteFile(os.Args[1], []byte(strconv.Itoa(os.Getpid())), 0o644)
	time.Sleep(5 * time.Minute)
}
`

// A command that leaves behind a process ferry may not kill (it runs as
// another user) does not make ferry wait for it forever: the rule ends, and
// ferry says which process it left running.
func TestLeftoverFerryMayNotKill(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make a set-user-ID root program")
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(rootSleeperSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	sleeper := filepath.Join(binDir, "rootsleeper")
	build := exec.Command("go", "build", "-o", sleeper, "main.go")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the sleeper: %v\n%s", err, out)
	}
	if err := os.Chmod(sleeper, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "a", cmd = "` + sleeper + ` $PWD/pid & sleep 1; echo started", cache = False)` + "\n",
	})
	t.Cleanup(func() {
		if b, err := os.ReadFile(ws.path("pid")); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	asNobody := ws.ferryAsNobody(t)
	done := make(chan *runResult, 1)
	go func() { done <- asNobody(t, "run") }()
	select {
	case r := <-done:
		r.wantCode(t, 0)
		b, err := os.ReadFile(ws.path("pid"))
		if err != nil {
			t.Fatalf("the task did not start its process: %v\n%s", err, r)
		}
		if want := "process " + string(b) + ", which a command left behind, runs as another user"; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name the process left running (%q):\n%s", want, r.stderr)
		}
	case <-time.After(waitLimit):
		t.Fatalf("ferry run still waits %v after it began, for a process it may not kill", waitLimit)
	}
}
