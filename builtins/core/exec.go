package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// killGrace is how long a process group has between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// runCommand runs c in dir with extra environment variables, in a process
// group of its own; ev (see newCommand) builds its environment. When ctx
// ends, the whole group gets SIGTERM and, after grace, SIGKILL; when the
// command exits, any process it left behind in its group is killed too, so
// nothing outlives the rule.
func runCommand(ctx context.Context, ev *engine.Evaluation, c engine.Cmd, dir string, env map[string]string, stdout, stderr io.Writer, grace time.Duration) error {
	cmd, err := newCommand(ev, c, dir, env)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = grace + time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-time.After(grace):
				syscall.Kill(-pgid, syscall.SIGKILL)
			case <-done:
			}
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	syscall.Kill(-pgid, syscall.SIGKILL)
	return describeExit(err, c)
}

// newCommand prepares c to run in dir with extra environment variables, in
// a process group of its own. Its environment is ferry's own less the
// variables that the secrets declared in ev are read from, plus env.
func newCommand(ev *engine.Evaluation, c engine.Cmd, dir string, env map[string]string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	if c.Argv != nil {
		if _, err := exec.LookPath(c.Argv[0]); err != nil {
			return nil, fmt.Errorf("program %q not found: check its spelling and that it is installed and on PATH", c.Argv[0])
		}
		cmd = exec.Command(c.Argv[0], c.Argv[1:]...)
	} else {
		cmd = exec.Command("/bin/sh", "-c", c.Shell)
	}
	cmd.Dir = dir
	cmd.Env = ev.Environ(env)
	cmd.SysProcAttr = processGroupAttr()
	return cmd, nil
}

// exitError reports a command that exited with a non-zero code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func describeExit(err error, c engine.Cmd) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Errorf("killed by signal %s", ws.Signal())
	}
	code := ee.ExitCode()
	msg := fmt.Sprintf("exit code %d", code)
	switch {
	case c.Argv != nil:
	case code == 127:
		msg = fmt.Sprintf("exit code 127: the shell could not find a command in %q; check its spelling and that it is installed and on PATH", c.Shell)
	case code == 126:
		msg = fmt.Sprintf("exit code 126: a command in %q is not executable; check its permissions (chmod +x)", c.Shell)
	}
	return &exitError{code: code, msg: msg}
}
