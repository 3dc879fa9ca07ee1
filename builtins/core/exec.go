package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// killGrace is how long a command's processes have between SIGTERM and
// SIGKILL.
const killGrace = 2 * time.Second

// runCommand runs c in dir with extra environment variables, under
// engine.StartProcess; ev (see newCommand) builds its environment. When ctx
// ends, all its processes get SIGTERM and, after grace, SIGKILL. Its exit
// code alone decides success: when it exits, any process it left behind (a
// `cmd &` holding its output open, a daemon) is killed, so nothing outlives
// the rule, not even ferry.
func runCommand(ctx context.Context, ev *engine.Evaluation, c engine.Cmd, dir string, env map[string]string, stdout, stderr io.Writer, grace time.Duration) error {
	cmd, err := newCommand(ev, c, dir, env)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	p, err := engine.StartProcess(cmd, grace)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-done:
		}
	}()
	err = p.Wait()
	close(done)
	return describeExit(err, c)
}

// newCommand prepares c to run in dir with extra environment variables. Its
// environment is ferry's own less the variables that the secrets declared
// in ev are read from, plus env.
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
	return cmd, nil
}

// exitError reports a command that exited with a non-zero code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func describeExit(err error, c engine.Cmd) error {
	var ee *engine.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ee.Status.Signaled() {
		return ee
	}
	code := ee.Status.ExitStatus()
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
