package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestSignalErrorExitCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sig  os.Signal
		code int
	}{{os.Interrupt, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}, {syscall.SIGQUIT, 131}} {
		e := SignalError{c.sig}
		if got := e.ExitCode(); got != c.code {
			t.Errorf("%v: exit code %d, want %d", c.sig, got, c.code)
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("stopping: %w", SignalError{syscall.SIGTERM}))
	var sig SignalError
	if !errors.As(context.Cause(ctx), &sig) || sig.Error() != "interrupted by terminated" {
		t.Fatalf("cause %v: want a SignalError for SIGTERM", context.Cause(ctx))
	}
}
