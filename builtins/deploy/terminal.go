package deploy

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/term"
)

// AttachTerminal gives the command of r a terminal: it puts in, the
// terminal of the process, in raw mode, sets r's size to that of out and
// follows out's size (SIGWINCH) into r.Resize until ctx ends or restore
// is called, which also puts in back as it was.
func (r *ExecRequest) AttachTerminal(ctx context.Context, in, out *os.File) (restore func(), err error) {
	inFd, outFd := int(in.Fd()), int(out.Fd())
	r.TTY = true
	size := func() TermSize {
		w, h, err := term.GetSize(outFd)
		if err != nil {
			return TermSize{}
		}
		return TermSize{Height: uint(h), Width: uint(w)}
	}
	r.Size = size()
	resize := make(chan TermSize, 1)
	r.Resize = resize
	winch := make(chan os.Signal, 1)
	notifyResize(winch)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				select {
				case resize <- size():
				default:
				}
			}
		}
	}()
	old, err := term.MakeRaw(inFd)
	if err != nil {
		signal.Stop(winch)
		cancel()
		return nil, fmt.Errorf("put the terminal in raw mode: %w", err)
	}
	return func() {
		term.Restore(inFd, old)
		signal.Stop(winch)
		cancel()
	}, nil
}
