package engine

import (
	"os/exec"
	"time"

	"github.com/ferryhq/ferry/engine/platform"
)

// Windows has no process groups, signals or /bin/sh as ferry's supervisor
// (supervisor_process.go) uses them: commands are refused, with a message
// that says so (see platform.Commands).

// A Process is a command that runs under the supervisor; none runs here.
type Process struct{}

// StartProcess refuses: ferry runs no command on Windows.
func StartProcess(cmd *exec.Cmd, grace time.Duration) (*Process, error) {
	return nil, platform.Unsupported(platform.Commands)
}

// Pid is the command's process ID.
func (p *Process) Pid() int { return 0 }

// Stop does nothing: no command runs.
func (p *Process) Stop() {}

// Wait returns at once: no command runs.
func (p *Process) Wait() error { return nil }

// KillCommands does nothing: no command runs.
func KillCommands() {}
