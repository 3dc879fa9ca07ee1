package dev

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// triggerQueue is how many triggers may wait for the run in progress.
const triggerQueue = 16

// replyWait bounds the exchange with the loop, which answers at once.
const replyWait = 10 * time.Second

// triggerMsg is the request (Rules) and the reply (Error) exchanged as
// JSON lines on the loop's socket.
type triggerMsg struct {
	Rules []string `json:"rules,omitempty"`
	Error string   `json:"error,omitempty"`
}

// SocketPath is where the loop on ws listens for triggers:
// .ferry/watch.sock, or a path in the temporary folder named after the
// workspace when that one is too long for a unix socket.
func SocketPath(ws *engine.Workspace) string {
	p := filepath.Join(ws.Root, engine.StateDir, "watch.sock")
	if len(p) < 100 {
		return p
	}
	sum := sha256.Sum256([]byte(ws.Root))
	return filepath.Join(os.TempDir(), "ferry-watch-"+hex.EncodeToString(sum[:8])+".sock")
}

// SendTrigger asks the loop running on ws (`ferry watch`) to run rules now,
// even when they are up to date, and returns once it has accepted them.
func SendTrigger(ctx context.Context, ws *engine.Workspace, rules []string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", SocketPath(ws))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no ferry watch is running in %s: start one with `ferry watch`, or run the rules once with `ferry run %s`", ws.Root, rules[0])
	}
	if err != nil {
		return fmt.Errorf("reach the ferry watch in %s: %w", ws.Root, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(replyWait))
	if err := json.NewEncoder(conn).Encode(triggerMsg{Rules: rules}); err != nil {
		return fmt.Errorf("send the trigger to the ferry watch in %s: %w", ws.Root, err)
	}
	var reply triggerMsg
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		return fmt.Errorf("the ferry watch in %s did not answer the trigger: %w", ws.Root, err)
	}
	if reply.Error != "" {
		return errors.New(reply.Error)
	}
	return nil
}

// Trigger asks the loop to run rules now, even when they are up to date:
// at once when it is idle, after the run in progress otherwise. It checks
// the names against the rules of the last good evaluation.
func (l *Loop) Trigger(rules []string) error {
	g := l.graph.Load()
	if g == nil {
		return errors.New("the watch has not evaluated ferry.star yet: trigger once it runs")
	}
	if len(rules) == 0 {
		return errors.New("no rule to trigger: name one or more")
	}
	if _, err := g.Select(rules); err != nil {
		return err
	}
	select {
	case l.queue <- rules:
		return nil
	default:
		return fmt.Errorf("the watch has %d triggers waiting already; try again when they have run", cap(l.queue))
	}
}

// A listener receives triggers on the loop's socket.
type listener struct {
	ln   net.Listener
	path string
}

// listen starts listening on the socket of ws for l. The caller holds the
// workspace lock, so a socket file left there is stale: it is replaced.
func (l *Loop) listen(ws *engine.Workspace) (*listener, error) {
	path := SocketPath(ws)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen for ferry trigger on %s: %w", path, err)
	}
	t := &listener{ln: ln, path: path}
	go t.serve(l)
	return t, nil
}

// close stops listening and removes the socket.
func (t *listener) close() {
	t.ln.Close()
	os.Remove(t.path)
}

func (t *listener) serve(l *Loop) {
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		go handle(l, conn)
	}
}

// handle answers one trigger request.
func handle(l *Loop, conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(replyWait))
	var req triggerMsg
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&req); err != nil {
		return
	}
	var reply triggerMsg
	if err := l.Trigger(req.Rules); err != nil {
		reply.Error = err.Error()
	}
	json.NewEncoder(conn).Encode(reply)
}
