package deploy

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestAttachTerminalNeedsATerminal(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var req ExecRequest
	restore, err := req.AttachTerminal(context.Background(), r, w)
	if err == nil || !strings.HasPrefix(err.Error(), "put the terminal in raw mode: ") || restore != nil {
		t.Fatalf("AttachTerminal on a pipe = %v; want it to fail to set raw mode", err)
	}
	if (req.Size != TermSize{}) {
		t.Fatalf("size %v of a pipe, want none", req.Size)
	}
}
