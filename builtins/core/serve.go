package core

import (
	"time"

	"github.com/ferryhq/ferry/engine"
)

// defaultGrace is a serve task's grace when it gives none.
const defaultGrace = 5 * time.Second

// checkServe validates the arguments of a serve task and marks it as one.
func checkServe(c *engine.Call, t *Task) error {
	if !c.Bool("serve", false) {
		if c.Has("grace") {
			return c.Errorf("grace applies only to a serve task: add serve = True or remove grace")
		}
		return nil
	}
	for _, p := range []string{"run", "outs", "timeout", "retries"} {
		if c.Has(p) {
			return c.Errorf("a serve task runs a long-running cmd until it is stopped, so it takes no %s; remove %s or serve = True", p, p)
		}
	}
	if !c.Bool("cache", true) {
		return c.Errorf("a serve task is restarted when its key changes, and runs every time in `ferry run`; remove cache = False")
	}
	t.info.Serve = true
	t.info.Default = false
	return nil
}

// serve runs the task's long-running command. In a watch (rc.Servers set)
// it replaces the task's running process, if any, and returns once the new
// one has started; elsewhere it runs the command in the foreground until it
// exits or rc ends, when its processes are stopped (SIGTERM, then SIGKILL
// after grace).
func (t *Task) serve(rc *engine.RunContext, dir string, env map[string]string) error {
	if rc.Servers == nil {
		return runCommand(rc, t.ev, t.cmd, dir, env, rc.Stdout, rc.Stderr, t.grace)
	}
	cmd, err := newCommand(t.ev, t.cmd, dir, env)
	if err != nil {
		return err
	}
	return rc.Servers.Start(rc, rc.Rule, rc.Key, cmd, t.grace)
}
