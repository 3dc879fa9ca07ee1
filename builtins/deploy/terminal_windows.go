package deploy

import (
	"os"

	"github.com/ferryhq/ferry/engine/platform"
)

// notifyResize says that the terminal's size is not followed: Windows has
// no SIGWINCH (see platform.TerminalResize).
func notifyResize(chan<- os.Signal) { platform.Warn(os.Stderr, platform.TerminalResize) }
