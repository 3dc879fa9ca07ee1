package dockerapi

// Operations on what runs: exec in a container, image listing and untagging
// for pruning, and pushing to a registry.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/stdcopy"
)

// ExecSpec says what to run in a container and where its streams go.
type ExecSpec struct {
	Cmd        []string
	Env        []string // KEY=VALUE, on top of the container's
	User       string
	WorkingDir string
	// TTY allocates a terminal: output arrives as one stream, on Stdout.
	TTY bool
	// Stdin, when not nil, is copied to the program; its end closes the
	// program's standard input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Size is the terminal's size to start with, and Resize carries its
	// later sizes (TTY only; either may be zero or nil).
	Size   TermSize
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct{ Height, Width uint }

// An ExecStartError is an exec the Engine could not start, most often
// because the program does not exist in the container.
type ExecStartError struct {
	Program  string // the program the Engine looked for
	NotFound bool   // the program is not in the container
	Message  string // the runtime's message, one line
}

func (e *ExecStartError) Error() string { return e.Message }

// execFailedPrefix starts the message the Engine writes into the exec's
// stream when the runtime cannot start the program.
const execFailedPrefix = "OCI runtime exec failed"

// execNotFound finds the program in the runtime's message: `exec: "sh":
// executable file not found in $PATH` or `exec: "/x": stat /x: no such file
// or directory`.
var execNotFound = regexp.MustCompile(`exec: "([^"]*)": (?:executable file not found|stat [^:]*: no such file or directory|no such file or directory)`)

// Exec runs a program in the running container id, copying its streams,
// and returns its exit code. A program the runtime could not start is an
// *ExecStartError.
func (c *Client) Exec(ctx context.Context, id string, s ExecSpec) (int, error) {
	cli, k, err := c.begin(ctx, "ContainerExecCreate", slowCall)
	if err != nil {
		return 0, err
	}
	if s.Stdout == nil {
		s.Stdout = io.Discard
	}
	if s.Stderr == nil {
		s.Stderr = io.Discard
	}
	opts := container.ExecOptions{
		Cmd: s.Cmd, Env: s.Env, User: s.User, WorkingDir: s.WorkingDir, Tty: s.TTY,
		AttachStdin: s.Stdin != nil, AttachStdout: true, AttachStderr: true,
	}
	if s.TTY && s.Size.Height > 0 && s.Size.Width > 0 {
		opts.ConsoleSize = &[2]uint{s.Size.Height, s.Size.Width}
	}
	created, err := cli.ContainerExecCreate(k.ctx, id, opts)
	if err = k.done(err); err != nil {
		if cerrdefs.IsConflict(err) {
			return 0, fmt.Errorf("the container is not running: %s", oneLine(strings.TrimPrefix(err.Error(), "Error response from daemon: ")))
		}
		return 0, c.wrap("create exec", err)
	}
	// The program runs as long as it does: the deadline is the Engine's
	// answer to the attach.
	_, k, err = c.begin(ctx, "ContainerExecAttach", slowCall)
	if err != nil {
		return 0, err
	}
	defer k.done(nil)
	hj, err := cli.ContainerExecAttach(k.ctx, created.ID, container.ExecAttachOptions{Tty: s.TTY, ConsoleSize: opts.ConsoleSize})
	if err = k.answered(err); err != nil {
		return 0, c.wrap("start exec", err)
	}
	defer hj.Close()
	if s.TTY && s.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-s.Resize:
					if !ok {
						return
					}
					cli.ContainerExecResize(ctx, created.ID, container.ResizeOptions{Height: sz.Height, Width: sz.Width})
				}
			}
		}()
	}
	if s.Stdin != nil {
		go func() {
			io.Copy(hj.Conn, s.Stdin)
			hj.CloseWrite()
		}()
	}
	// The runtime's failure to start the program arrives as text on the
	// output stream: hold back output that could be that message.
	out, errOut := &sniffer{w: s.Stdout}, &sniffer{w: s.Stderr}
	done := make(chan error, 1)
	go func() {
		var err error
		if s.TTY {
			_, err = io.Copy(out, hj.Reader)
		} else {
			_, err = stdcopy.StdCopy(out, errOut, hj.Reader)
		}
		done <- err
	}()
	select {
	case <-ctx.Done():
		hj.Close()
		return 0, ctx.Err()
	case err = <-done:
	}
	if err != nil && ctx.Err() == nil {
		return 0, fmt.Errorf("read the exec's output: %w", err)
	}
	code, err := c.execExitCode(ctx, created.ID)
	if err != nil {
		return 0, err
	}
	for _, sn := range []*sniffer{out, errOut} {
		if msg, ok := sn.held(); ok && code >= 126 {
			e := &ExecStartError{Message: oneLine(msg)}
			if m := execNotFound.FindStringSubmatch(msg); m != nil {
				e.Program, e.NotFound = m[1], true
			}
			return code, e
		}
	}
	out.flush()
	errOut.flush()
	return code, nil
}

// execExitCode waits (briefly: the output has ended) for the exec to end
// and returns its exit code.
func (c *Client) execExitCode(ctx context.Context, execID string) (int, error) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		cli, k, err := c.begin(ctx, "ContainerExecInspect", quickCall)
		if err != nil {
			return 0, err
		}
		res, err := cli.ContainerExecInspect(k.ctx, execID)
		if err = k.done(err); err != nil {
			return 0, c.wrap("inspect exec", err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the program's output ended but the Engine still reports it running")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A sniffer passes output through, except that it holds back output that
// begins like the runtime's exec failure, until flushed.
type sniffer struct {
	mu      sync.Mutex
	w       io.Writer
	buf     bytes.Buffer
	decided bool // the output is not the failure message: pass through
}

func (s *sniffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.decided {
		return s.w.Write(p)
	}
	s.buf.Write(p)
	b := s.buf.Bytes()
	n := min(len(b), len(execFailedPrefix))
	if string(b[:n]) == execFailedPrefix[:n] {
		return len(p), nil // could still be the message
	}
	s.decided = true
	_, err := s.w.Write(b)
	s.buf.Reset()
	return len(p), err
}

// held returns the output held back, if it is the failure message.
func (s *sniffer) held() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String(), !s.decided && strings.HasPrefix(s.buf.String(), execFailedPrefix)
}

// flush writes what was held back.
func (s *sniffer) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 0 {
		s.w.Write(s.buf.Bytes())
		s.buf.Reset()
	}
	s.decided = true
}

// ContainerInfo is what ferry needs to know of a container's definition.
type ContainerInfo struct {
	Image      string // the reference it was created from
	ImageID    string
	Entrypoint []string
	Cmd        []string
	User       string // "uid[:gid]" or a name; "" for root
}

// ContainerInfo inspects a container's definition.
func (c *Client) ContainerInfo(ctx context.Context, id string) (ContainerInfo, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return ContainerInfo{}, err
	}
	return containerInfo(res), nil
}

func containerInfo(res container.InspectResponse) ContainerInfo {
	info := ContainerInfo{ImageID: res.Image}
	if res.Config != nil {
		info.Image, info.Entrypoint, info.Cmd, info.User = res.Config.Image, res.Config.Entrypoint, res.Config.Cmd, res.Config.User
	}
	return info
}

// ImageUsers maps the ID of every image a container (running or not) was
// created from to those containers' names, in one call.
func (c *Client) ImageUsers(ctx context.Context) (map[string][]string, error) {
	cli, k, err := c.begin(ctx, "ContainerList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.ContainerList(k.ctx, container.ListOptions{All: true})
	err = k.done(err)
	if err != nil {
		return nil, c.wrap("list containers", err)
	}
	users := map[string][]string{}
	for _, s := range list {
		name := s.ID[:min(12, len(s.ID))]
		if len(s.Names) > 0 {
			name = strings.TrimPrefix(s.Names[0], "/")
		}
		users[s.ImageID] = append(users[s.ImageID], name)
	}
	return users, nil
}

// ImageCreated returns when the image was made, to the nanosecond (listing
// gives seconds only, and builds a second apart are common).
func (c *Client) ImageCreated(ctx context.Context, id string) (time.Time, error) {
	cli, k, err := c.begin(ctx, "ImageInspect", quickCall)
	if err != nil {
		return time.Time{}, err
	}
	res, err := cli.ImageInspect(k.ctx, id)
	err = k.done(err)
	if err != nil {
		return time.Time{}, c.wrap("inspect image "+id, err)
	}
	t, err := time.Parse(time.RFC3339Nano, res.Created)
	if err != nil {
		return time.Time{}, fmt.Errorf("image %s: creation time %q: %w", id, res.Created, err)
	}
	return t, nil
}

// ErrImageInUse is wrapped by Untag when the Engine keeps the image
// because a container uses it or images are built on it.
var ErrImageInUse = errors.New("image in use")

// Untag removes the reference ref; when it was the image's last one, the
// image goes too (deleted says so). It never forces: an image that a
// container uses, or that other images are built on, stays, and the error
// wraps ErrImageInUse. A reference already gone is not an error.
func (c *Client) Untag(ctx context.Context, ref string) (deleted bool, err error) {
	cli, k, err := c.begin(ctx, "ImageRemove", slowCall)
	if err != nil {
		return false, err
	}
	res, err := cli.ImageRemove(k.ctx, ref, image.RemoveOptions{PruneChildren: true})
	err = k.done(err)
	switch {
	case cerrdefs.IsNotFound(err):
		return false, nil
	case cerrdefs.IsConflict(err):
		return false, fmt.Errorf("%s: %w (%s)", ref, ErrImageInUse, oneLine(strings.TrimPrefix(err.Error(), "Error response from daemon: ")))
	case err != nil:
		return false, c.wrap("remove image "+ref, err)
	}
	for _, r := range res {
		if r.Deleted != "" {
			deleted = true
		}
	}
	return deleted, nil
}

// A PushError is a push that the Engine began and the registry or the
// Engine refused.
type PushError struct {
	Ref     string
	Message string // the Engine's message, one line
	// Auth says whether the registry asked for credentials.
	Auth bool
}

func (e *PushError) Error() string { return fmt.Sprintf("push %s: %s", e.Ref, e.Message) }

// pushMessage is one JSON message of the push stream.
type pushMessage struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	ProgressDetail json.RawMessage `json:"progressDetail"`
	Error          string          `json:"error"`
	ErrorDetail    *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux *struct {
		Tag    string `json:"Tag"`
		Digest string `json:"Digest"`
	} `json:"aux"`
}

// Push pushes ref ("host/repo:tag") to its registry with the credentials
// auth (an X-Registry-Auth value from RegistryAuth; "" for none), writes
// one line per layer pushed to out, and returns the manifest's digest.
func (c *Client) Push(ctx context.Context, ref, auth string, out io.Writer) (string, error) {
	// The Engine begins its answer at once; the layers then take as long
	// as the registry does, their progress written to out.
	cli, k, err := c.begin(ctx, "ImagePush", slowCall)
	if err != nil {
		return "", err
	}
	defer k.done(nil)
	if auth == "" {
		auth, _ = registry.EncodeAuthConfig(registry.AuthConfig{})
	}
	rc, err := cli.ImagePush(k.ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err = k.answered(err); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if cerrdefs.IsNotFound(err) {
			return "", &PushError{Ref: ref, Message: "the image is not in the Docker Engine"}
		}
		if cerrdefs.IsUnauthorized(err) {
			return "", &PushError{Ref: ref, Message: oneLine(err.Error()), Auth: true}
		}
		return "", c.wrap("push "+ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	var digest string
	for {
		var m pushMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("read the push's output: %w", err)
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			l := strings.ToLower(msg)
			auth := strings.Contains(l, "unauthorized") || strings.Contains(l, "authentication required") || strings.Contains(l, "denied")
			return "", &PushError{Ref: ref, Message: oneLine(msg), Auth: auth}
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
		// Progress bars and per-layer waiting are noise in a log.
		switch {
		case m.Status == "" || m.Status == "Preparing" || m.Status == "Waiting" || m.Status == "Pushing":
		case m.ID != "":
			fmt.Fprintf(out, "%s: %s\n", m.ID, m.Status)
		default:
			fmt.Fprintln(out, m.Status)
		}
	}
	if digest == "" {
		return "", &PushError{Ref: ref, Message: "the Engine ended the push without a digest"}
	}
	return digest, nil
}
