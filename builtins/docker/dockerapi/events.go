package dockerapi

// Following what happens to containers (their events, and the output of
// one run), and the two operations a rolling update needs besides create,
// start and remove: stop and rename.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// A ContainerEvent is something that happened to a container, as the
// Engine reports it.
type ContainerEvent struct {
	Time   time.Time
	Action string // die, start, kill, oom, destroy, "health_status: unhealthy", …
	ID     string
	Name   string
	// Labels are the container's labels.
	Labels map[string]string
	// ExitCode is the exit code of a die event (-1 for other actions).
	ExitCode int
}

// ContainerEvents follows the events of the containers carrying every
// label given (an empty value matches any value) whose action is one of
// actions, from since (the zero time: from now). It returns once the
// Engine accepted to send them, or with the error it gave. The events then
// arrive on the first channel until ctx ends or the stream breaks; the
// error channel receives one error when it ends for another reason than
// ctx. It has no deadline: the Engine sends events only as they happen.
func (c *Client) ContainerEvents(ctx context.Context, labels map[string]string, actions []string, since time.Time) (<-chan ContainerEvent, <-chan error, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	f := labelFilter(labels)
	f.Add("type", string(events.ContainerEventType))
	for _, a := range actions {
		f.Add("event", a)
	}
	opts := events.ListOptions{Filters: f}
	if !since.IsZero() {
		opts.Since = timestamp(since)
	}
	// Events returns once the Engine answered: a refusal is already sent.
	msgs, errs := cli.Events(ctx, opts)
	select {
	case err := <-errs:
		return nil, nil, c.wrap("follow the Engine's events", err)
	default:
	}
	out := make(chan ContainerEvent)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m := <-msgs:
				ev := ContainerEvent{Time: time.Unix(0, m.TimeNano), Action: string(m.Action), ID: m.Actor.ID, Name: m.Actor.Attributes["name"], Labels: m.Actor.Attributes, ExitCode: -1}
				if code, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil {
					ev.ExitCode = code
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					errc <- c.wrap("follow the Engine's events", err)
				}
				return
			}
		}
	}()
	return out, errc, nil
}

// LastExit returns the exit code of the container's (a name or an ID)
// last death from since until now, as the Engine's events tell it, and
// whether it died: the code of a run that its restart policy followed
// with another, which inspecting it no longer shows.
func (c *Client) LastExit(ctx context.Context, container string, since time.Time) (int, bool, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return 0, false, err
	}
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", container), filters.Arg("event", "die"))
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: f, Since: timestamp(since), Until: timestamp(time.Now())})
	code, died := 0, false
	for {
		select {
		case m := <-msgs:
			if n, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil {
				code, died = n, true
			}
		case err := <-errs:
			if errors.Is(err, io.EOF) {
				return code, died, nil
			}
			return code, died, c.wrap("read the Engine's events", err)
		}
	}
}

// StopContainer stops a running container, giving it its grace period
// after its stop signal before it is killed (see stopGrace); its restart
// policy does not start it again. One already gone is not an error.
func (c *Client) StopContainer(ctx context.Context, id string) error {
	grace, err := c.stopGrace(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	cli, k, err := c.beginWithin(ctx, "ContainerStop", func() time.Duration { return grace + c.slow() })
	if err != nil {
		return err
	}
	secs := int(grace / time.Second)
	if err := k.done(cli.ContainerStop(k.ctx, id, container.StopOptions{Timeout: &secs})); err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("stop container", err)
	}
	return nil
}

// RenameContainer gives a container another name.
func (c *Client) RenameContainer(ctx context.Context, id, name string) error {
	cli, k, err := c.begin(ctx, "ContainerRename", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.ContainerRename(k.ctx, id, name)); err != nil {
		return c.wrap("rename container to "+name, err)
	}
	return nil
}

// LogsBetween writes the last tail lines (all for "") that a container wrote
// after since and up to until (zero times: no bound) to out, as Logs does:
// the output of one run of a container that Docker restarts.
func (c *Client) LogsBetween(ctx context.Context, id string, since, until time.Time, tail string, out io.Writer) error {
	cli, k, err := c.begin(ctx, "ContainerLogs", quickCall)
	if err != nil {
		return err
	}
	defer k.done(nil)
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail}
	if !since.IsZero() {
		opts.Since = timestamp(since)
	}
	if !until.IsZero() {
		opts.Until = timestamp(until)
	}
	rc, err := cli.ContainerLogs(k.ctx, id, opts)
	if err = k.answered(err); err != nil {
		return c.wrap("container logs", err)
	}
	return copyLogs(ctx, rc, "container logs", out)
}

// timestamp formats t as the Engine's API takes it: seconds.nanoseconds.
func timestamp(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }
