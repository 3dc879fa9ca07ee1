// Package dockerapi talks to the Docker Engine. It is the only package of ferry
// that imports the Docker SDK: the rest of ferry sees the few operations
// below, with plain types, and errors that say what to do.
//
// A Client connects lazily, on its first call, using the usual environment
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION) and
// negotiating the API version, so a workspace that declares no Docker rule
// never touches the Engine.
package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// A Client is a lazily connected Docker Engine client. Its methods are safe
// for concurrent use. The zero value is not usable: call New.
type Client struct {
	mu     sync.Mutex
	cli    *client.Client
	pinged bool
	ping   types.Ping // the Engine's answer to the first ping
	// quickLimit is the deadline of a quick Engine call (see quick), set
	// with the client.
	quickLimit time.Duration
}

// New returns a Client that connects on first use. It does no I/O.
func New() *Client { return &Client{} }

// Image is an image as listed by the Engine.
type Image struct {
	ID      string            // "sha256:…"
	Tags    []string          // "repo:tag" references that point at it
	Labels  map[string]string // the image's labels
	Created time.Time
	// RepoDigests are the repo@sha256:… references it was pushed or
	// pulled as.
	RepoDigests []string
}

// BuildOptions say what to build from a context stream.
type BuildOptions struct {
	Dockerfile string            // path of the Dockerfile inside the context
	Tags       []string          // references to give the image
	BuildArgs  map[string]string // values for ARG instructions
	Target     string            // stage to build, "" for the last
	CacheFrom  []string          // images whose layers may serve as cache
}

// An UnreachableError says that the Engine could not be reached. Its message
// is one line that says how to fix it.
type UnreachableError struct {
	Host string // the daemon address tried
	Fix  string // what to check or do, after "Host: "
}

// Error returns the one-line message.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Docker Engine at %s: %s", e.Host, e.Fix)
}

// A BuildError is a build that the Engine ran and that failed.
type BuildError struct {
	Message string // the Engine's message, one line
	// Step is the number of the last "Step N/M" the classic builder began,
	// 0 when it began none; with the Dockerfile it names the failing line.
	Step        int
	Instruction string // that step's instruction as the builder printed it
}

// Error names the step, when known, and the Engine's message.
func (e *BuildError) Error() string {
	if e.Step > 0 {
		return fmt.Sprintf("step %d (%s): %s", e.Step, e.Instruction, e.Message)
	}
	return e.Message
}

// buildArgs is a build's ARG values as the SDK takes them.
func buildArgs(m map[string]string) map[string]*string {
	args := make(map[string]*string, len(m))
	for k, v := range m {
		args[k] = &v
	}
	return args
}

// client returns the SDK client, creating it and checking that the Engine
// answers on first use.
func (c *Client) client(ctx context.Context) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cli == nil {
		quick, err := quickFromEnv()
		if err != nil {
			return nil, err
		}
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker client from the environment (DOCKER_HOST, DOCKER_CERT_PATH…): %w", err)
		}
		c.cli, c.quickLimit = cli, quick
	}
	if !c.pinged {
		// The first contact is bounded too, so an unreachable remote
		// host fails in seconds rather than hanging.
		pctx, cancel := context.WithTimeout(ctx, c.quick())
		defer cancel()
		ping, err := c.cli.Ping(pctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, c.unreachable(err)
		}
		// Negotiate from this answer, so the SDK does not ping again.
		c.cli.NegotiateAPIVersionPing(ping)
		c.pinged, c.ping = true, ping
	}
	return c.cli, nil
}

// unreachable turns a failure to connect into an UnreachableError.
func (c *Client) unreachable(err error) error {
	e := &UnreachableError{Host: c.cli.DaemonHost()}
	switch {
	case errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied"):
		e.Fix = "permission denied on its socket (run as root, or add your user to the docker group)"
	case errors.Is(err, context.DeadlineExceeded):
		e.Fix = fmt.Sprintf("no answer within %s (is it running? is DOCKER_HOST right?)", c.quick())
	case !client.IsErrConnectionFailed(err):
		e.Fix = oneLine(err.Error())
	case os.Getenv("DOCKER_HOST") != "":
		e.Fix = "is it running? (start it, or fix DOCKER_HOST, which is set)"
	default:
		e.Fix = `is it running? (start it with "sudo systemctl start docker", or set DOCKER_HOST)`
	}
	return e
}

// wrap gives an SDK error the operation's context, and reports a lost
// connection as an UnreachableError; a StalledError, which names its
// call, is returned as it is.
func (c *Client) wrap(op string, err error) error {
	var stalled *StalledError
	if errors.As(err, &stalled) {
		return err
	}
	if client.IsErrConnectionFailed(err) {
		c.mu.Lock()
		c.pinged = false
		c.mu.Unlock()
		return c.unreachable(err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Ping checks that the Engine answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.client(ctx)
	return err
}

// ImageID returns the ID of the local image that ref (a reference or an ID)
// names, or "" when there is none. It never pulls.
func (c *Client) ImageID(ctx context.Context, ref string) (string, error) {
	cli, k, err := c.begin(ctx, "ImageInspect", quickCall)
	if err != nil {
		return "", err
	}
	res, err := cli.ImageInspect(k.ctx, ref)
	err = k.done(err)
	switch {
	case cerrdefs.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", c.wrap("inspect image "+ref, err)
	}
	return res.ID, nil
}

// ImagesByLabel lists the images that carry label key with value, newest
// first, in one call.
func (c *Client) ImagesByLabel(ctx context.Context, key, value string) ([]Image, error) {
	cli, k, err := c.begin(ctx, "ImageList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.ImageList(k.ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", key+"="+value))})
	if err = k.done(err); err != nil {
		return nil, c.wrap("list images labelled "+key+"="+value, err)
	}
	out := make([]Image, 0, len(list))
	for _, s := range list {
		var tags []string
		for _, t := range s.RepoTags {
			if t != "<none>:<none>" {
				tags = append(tags, t)
			}
		}
		out = append(out, Image{ID: s.ID, Tags: tags, Labels: s.Labels, Created: time.Unix(s.Created, 0), RepoDigests: s.RepoDigests})
	}
	return out, nil
}

// Tag makes ref point at the image id.
func (c *Client) Tag(ctx context.Context, id, ref string) error {
	cli, k, err := c.begin(ctx, "ImageTag", quickCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.ImageTag(k.ctx, id, ref)); err != nil {
		return c.wrap("tag "+ref, err)
	}
	return nil
}

// Remove removes the image that ref names (a reference or an ID), with its
// untagged parents; an ID referenced by several tags is removed with all of
// them. A missing image is not an error.
func (c *Client) Remove(ctx context.Context, ref string) error {
	cli, k, err := c.begin(ctx, "ImageRemove", slowCall)
	if err != nil {
		return err
	}
	_, err = cli.ImageRemove(k.ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err = k.done(err); err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("remove image "+ref, err)
	}
	return nil
}

// Build builds an image with the classic builder from tarStream, a tar of
// the build context, copies the builder's output to out, and returns the
// new image's ID. Cancelling ctx stops the build. A build that the Engine
// refused or ran and that failed is returned as a *BuildError.
func (c *Client) Build(ctx context.Context, tarStream io.Reader, o BuildOptions, out io.Writer) (string, error) {
	// The Engine begins its answer once it has the context, which may
	// take long to send: the deadline runs while nothing moves.
	cli, k, err := c.begin(ctx, "ImageBuild", slowCall)
	if err != nil {
		return "", err
	}
	defer k.done(nil)
	res, err := cli.ImageBuild(k.ctx, k.progress(tarStream), build.ImageBuildOptions{
		Version:     build.BuilderV1,
		Dockerfile:  o.Dockerfile,
		Tags:        o.Tags,
		BuildArgs:   buildArgs(o.BuildArgs),
		Target:      o.Target,
		CacheFrom:   o.CacheFrom,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err = k.answered(err); client.IsErrConnectionFailed(err) || errors.As(err, new(*StalledError)) {
			return "", c.wrap("build", err)
		}
		// The Engine refused the build before running it (a Dockerfile it
		// cannot parse, an unknown target…): that is the build's failure.
		return "", &BuildError{Message: oneLine(strings.TrimPrefix(err.Error(), "Error response from daemon: "))}
	}
	k.answered(nil)
	defer res.Body.Close()
	id, err := readStream(res.Body, out)
	if err != nil && ctx.Err() != nil {
		return "", ctx.Err()
	}
	return id, err
}

// message is one JSON message of the build stream.
type message struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux *struct {
		ID string `json:"ID"`
	} `json:"aux"`
}

// stepLine matches the classic builder's "Step 3/7 : RUN make".
var stepLine = regexp.MustCompile(`^Step (\d+)/\d+ : (.*)$`)

// successLine matches the classic builder's last line of a good build.
var successLine = regexp.MustCompile(`^Successfully built ([0-9a-f]+)$`)

// readStream decodes the build's JSON message stream, copying output to
// out, and returns the built image's ID.
func readStream(r io.Reader, out io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var id string
	step, instr := 0, ""
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("read build output: %w", err)
		}
		if m.Stream != "" {
			io.WriteString(out, m.Stream)
			for _, l := range strings.Split(m.Stream, "\n") {
				l = strings.TrimSpace(l)
				if s := stepLine.FindStringSubmatch(l); s != nil {
					step, _ = strconv.Atoi(s[1])
					instr = s[2]
				} else if s := successLine.FindStringSubmatch(l); s != nil && id == "" {
					id = s[1]
				}
			}
		}
		if m.Aux != nil && m.Aux.ID != "" {
			id = m.Aux.ID
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			return "", &BuildError{Message: oneLine(msg), Step: step, Instruction: instr}
		}
	}
	if id == "" {
		return "", errors.New("the Engine ended the build without naming the image it built")
	}
	return id, nil
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
