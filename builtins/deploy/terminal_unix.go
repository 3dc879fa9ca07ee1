//go:build unix

package deploy

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize relays to c the signal that the terminal's size changed.
func notifyResize(c chan<- os.Signal) { signal.Notify(c, syscall.SIGWINCH) }
