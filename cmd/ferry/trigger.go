package main

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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
)

func (a *app) triggerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "trigger RULE...",
		Short: "Ask the running ferry watch of this workspace to run rules now",
		Long: `Ask the ferry watch running in this workspace to run the named rules now, even
when they are up to date (their deps run only if out of date). This is how rules
declared with trigger = "manual" run in a watch; any rule can be triggered.
ferry trigger returns once the watch has accepted the request; the watch's
output shows the run. Without a running watch, use ferry run RULE.`,
		Example: `  ferry trigger seed-db
  ferry trigger api-image api`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := engine.FindWorkspace(a.dir, a.file)
			if err != nil {
				return err
			}
			if err := sendTrigger(cmd.Context(), ws, args); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "the watch in %s runs %s now\n", ws.Root, strings.Join(args, ", "))
			return nil
		},
	}
}

// replyWait bounds the exchange with the watch, which answers at once.
const replyWait = 10 * time.Second

// triggerMsg is the request (Rules) and the reply (Error) exchanged as
// JSON lines on the watch's socket.
type triggerMsg struct {
	Rules []string `json:"rules,omitempty"`
	Error string   `json:"error,omitempty"`
}

// socketPath is where the watch of ws listens for triggers: .ferry/watch.sock,
// or a path in the temporary folder named after the workspace when that one
// is too long for a unix socket.
func socketPath(ws *engine.Workspace) string {
	p := filepath.Join(ws.Root, engine.StateDir, "watch.sock")
	if len(p) < 100 {
		return p
	}
	sum := sha256.Sum256([]byte(ws.Root))
	return filepath.Join(os.TempDir(), "ferry-watch-"+hex.EncodeToString(sum[:8])+".sock")
}

// sendTrigger asks the watch of ws to run rules.
func sendTrigger(ctx context.Context, ws *engine.Workspace, rules []string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath(ws))
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

// triggers receives the rules that `ferry trigger` (or the status view)
// asks a watch to run, checks their names against the watch's current
// rules, and queues them for the watch loop.
type triggers struct {
	ln    net.Listener
	path  string
	graph atomic.Pointer[engine.Graph]
	queue chan []string
}

// listenTriggers starts listening on the socket of ws. The caller holds
// the workspace lock, so a socket file left there is stale: it is replaced.
func listenTriggers(ws *engine.Workspace, g *engine.Graph) (*triggers, error) {
	t := &triggers{path: socketPath(ws), queue: make(chan []string, 16)}
	t.graph.Store(g)
	os.Remove(t.path)
	ln, err := net.Listen("unix", t.path)
	if err != nil {
		return nil, fmt.Errorf("listen for ferry trigger on %s: %w", t.path, err)
	}
	t.ln = ln
	go t.serve()
	return t, nil
}

// Requests delivers the rules to run, one trigger at a time.
func (t *triggers) Requests() <-chan []string { return t.queue }

// SetGraph makes later triggers check names against g.
func (t *triggers) SetGraph(g *engine.Graph) { t.graph.Store(g) }

// Close stops listening and removes the socket.
func (t *triggers) Close() {
	t.ln.Close()
	os.Remove(t.path)
}

func (t *triggers) serve() {
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		go t.handle(conn)
	}
}

func (t *triggers) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(replyWait))
	var req triggerMsg
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&req); err != nil {
		return
	}
	var reply triggerMsg
	if err := t.Submit(req.Rules); err != nil {
		reply.Error = err.Error()
	}
	json.NewEncoder(conn).Encode(reply)
}

// Submit checks rule names and queues them.
func (t *triggers) Submit(rules []string) error {
	if len(rules) == 0 {
		return errors.New("no rule to trigger: name one or more")
	}
	if _, err := t.graph.Load().Select(rules); err != nil {
		return err
	}
	select {
	case t.queue <- rules:
		return nil
	default:
		return fmt.Errorf("the watch has %d triggers waiting already; try again when they have run", cap(t.queue))
	}
}
