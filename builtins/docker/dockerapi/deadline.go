package dockerapi

// Deadlines of Engine calls: an Engine that accepts connections and then
// stops answering would otherwise hold ferry forever, saying nothing.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker/docker/client"
)

// defaultQuick is the deadline of a quick Engine call (an inspect, a list,
// the first ping); calls that make the Engine work (create, start, remove)
// get slowFactor times as long.
const (
	defaultQuick = 10 * time.Second
	slowFactor   = 3
)

// TimeoutEnv names the environment variable that sets the deadline of a
// quick Engine call (a Go duration: "10s", "1m").
const TimeoutEnv = "FERRY_DOCKER_TIMEOUT"

// A StalledError is an Engine call that got no answer within its deadline.
type StalledError struct {
	Host  string        // the daemon address
	Call  string        // the Engine API call, as the SDK names it: "ContainerCreate"
	Limit time.Duration // how long ferry waited
}

func (e *StalledError) Error() string {
	return fmt.Sprintf("the Docker Engine at %s did not answer %s within %s (is it stalled? \"docker info\" tells; %s sets the deadline)", e.Host, e.Call, e.Limit, TimeoutEnv)
}

// quickFromEnv returns the deadline of a quick call: TimeoutEnv, else
// defaultQuick.
func quickFromEnv() (time.Duration, error) {
	v := os.Getenv(TimeoutEnv)
	if v == "" {
		return defaultQuick, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 10s or 1m (the deadline of a quick Docker Engine call; slower ones get %d times as long)", TimeoutEnv, v, slowFactor)
	}
	return d, nil
}

// quick is the deadline of a quick call: an inspect, a list.
func (c *Client) quick() time.Duration {
	if c.quickLimit == 0 {
		return defaultQuick
	}
	return c.quickLimit
}

// slow is the deadline of a call that makes the Engine work: create,
// start, remove, connect.
func (c *Client) slow() time.Duration { return slowFactor * c.quick() }

// A speed says which deadline an Engine call gets.
type speed int

const (
	quickCall speed = iota // an inspect, a list: quick
	slowCall               // create, start, remove, connect: slow
)

// limit is the deadline of a call of speed s.
func (c *Client) limit(s speed) time.Duration {
	switch s {
	case slowCall:
		return c.slow()
	}
	return c.quick()
}

// A call is one Engine call under its deadline. The SDK call takes its
// ctx, and its error goes through done (or answered, for a stream).
type call struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	stall  *StalledError
}

// begin starts the Engine call op (named as the SDK names it), which must
// be answered within the deadline of its speed, and returns the SDK client
// for it.
func (c *Client) begin(ctx context.Context, op string, s speed) (*client.Client, *call, error) {
	return c.beginWithin(ctx, op, func() time.Duration { return c.limit(s) })
}

// beginWithin is begin with the deadline that deadline returns, once the
// client has read its settings: a stop's waits for the container's own
// grace period.
func (c *Client) beginWithin(ctx context.Context, op string, deadline func() time.Duration) (*client.Client, *call, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	limit := deadline()
	k := &call{stall: &StalledError{Host: cli.DaemonHost(), Call: op, Limit: limit}}
	k.ctx, k.cancel = context.WithCancelCause(ctx)
	k.timer = time.AfterFunc(limit, func() { k.cancel(k.stall) })
	return cli, k, nil
}

// done ends the call and returns err, or the StalledError when the
// deadline ended it.
func (k *call) done(err error) error {
	err = k.answered(err)
	k.cancel(nil)
	return err
}

// answered stops the deadline of a call whose answer is a stream (logs,
// stats, a build's or a push's output), once the Engine has begun it: a
// stream flows, or waits quietly, for as long as it does, and ends with
// k.ctx's parent; call done when it ends. It returns err, or the
// StalledError when the deadline ended the call.
func (k *call) answered(err error) error {
	k.timer.Stop()
	if err != nil && errors.Is(context.Cause(k.ctx), k.stall) {
		return k.stall
	}
	return err
}

// progress returns r, a request body, each read of which gives the call
// its whole deadline again: sending a build context or files takes as long
// as it takes, as long as it moves.
func (k *call) progress(r io.Reader) io.Reader { return &progressReader{r: r, k: k} }

type progressReader struct {
	r io.Reader
	k *call
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.k.ctx.Err() == nil {
		p.k.timer.Reset(p.k.stall.Limit)
	}
	return n, err
}
