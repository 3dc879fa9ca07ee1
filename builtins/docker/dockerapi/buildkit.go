package dockerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/tonistiigi/fsutil"
	"google.golang.org/protobuf/proto"
)

// BuildKitOptions say what to build with the Engine's BuildKit.
type BuildKitOptions struct {
	// Context is the build context, which BuildKit reads over the
	// session, file by file, sending only what changed since the last
	// build with the same SharedKey.
	Context fsutil.FS
	// Dockerfile is a folder holding the Dockerfile, named DockerfileName.
	Dockerfile     fsutil.FS
	DockerfileName string
	// SharedKey names the context for the Engine's transfer cache: the
	// same key for the same folder lets a rebuild send only changes.
	SharedKey string
	Tags      []string          // references to give the image
	BuildArgs map[string]string // values for ARG instructions
	Target    string            // stage to build, "" for the last
	CacheFrom []string          // images whose layers may serve as cache
	// Secrets are the values RUN --mount=type=secret,id=KEY reads. They
	// travel over the session only, and never enter the image.
	Secrets map[string][]byte
	// SSH forwards SSH agents to RUN --mount=type=ssh,id=KEY: an agent's
	// socket or a private key file, or "" for the agent at
	// $SSH_AUTH_SOCK.
	SSH map[string]string
}

// BuilderInfo says how the Engine builds.
type BuilderInfo struct {
	// BuildKit is true when the Engine builds with BuildKit when asked:
	// it says so (BuilderVersion 2), or says nothing and is a Linux
	// Engine of API 1.39 or later (Docker 18.09, which has BuildKit built
	// in). An Engine configured for the classic builder (BuilderVersion 1)
	// is taken at its word.
	BuildKit bool
	// Heredocs is true when its built-in Dockerfile frontend reads
	// heredocs (Engine 23, API 1.42, and later).
	Heredocs bool
	// APIVersion is the Engine's API version, such as "1.41".
	APIVersion string
}

// Builder asks the Engine (its first ping) how it builds.
func (c *Client) Builder(ctx context.Context) (BuilderInfo, error) {
	if _, err := c.client(ctx); err != nil {
		return BuilderInfo{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return builderInfo(c.ping), nil
}

// builderInfo reads how the Engine builds from its answer to a ping.
func builderInfo(ping types.Ping) BuilderInfo {
	v := ping.APIVersion
	b := BuilderInfo{APIVersion: v, Heredocs: !versionBefore(v, "1.42")}
	switch ping.BuilderVersion {
	case build.BuilderBuildKit:
		b.BuildKit = true
	case build.BuilderV1:
	default:
		b.BuildKit = ping.OSType == "linux" && !versionBefore(v, "1.39")
	}
	return b
}

// versionBefore reports whether API version v is older than min.
func versionBefore(v, min string) bool {
	var a1, a2, b1, b2 int
	fmt.Sscanf(v, "%d.%d", &a1, &a2)
	fmt.Sscanf(min, "%d.%d", &b1, &b2)
	return a1 < b1 || a1 == b1 && a2 < b2
}

// BuildWithBuildKit builds an image with the Engine's BuildKit, serving
// the context, the Dockerfile and the secrets over a session, writes the
// build's progress to out, one line at a time (as "docker build
// --progress=plain" does), and returns the new image's ID. Cancelling ctx
// cancels the build. A build that failed is returned as a *BuildError
// whose Instruction is the step that failed, as BuildKit names it.
func (c *Client) BuildWithBuildKit(ctx context.Context, o BuildKitOptions, out io.Writer) (string, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return "", err
	}
	s, err := session.NewSession(ctx, o.SharedKey)
	if err != nil {
		return "", fmt.Errorf("start a BuildKit session: %w", err)
	}
	s.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{"context": o.Context, "dockerfile": o.Dockerfile}))
	s.Allow(secretsprovider.FromMap(o.Secrets))
	// BuildKit asks the session for the credentials of each registry it
	// pulls from (FROM, RUN --mount=from=, a # syntax= frontend,
	// cache_from): those of the Docker config, as pulls use.
	cf, err := dockerConfig()
	if err != nil {
		return "", err
	}
	if cf == nil {
		cf = configfile.New("")
	}
	s.Allow(authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: authprovider.LoadAuthConfig(cf)}))
	if len(o.SSH) > 0 {
		var agents []sshprovider.AgentConfig
		for id, p := range o.SSH {
			agents = append(agents, sshprovider.AgentConfig{ID: id, Paths: []string{p}})
		}
		ssh, err := sshprovider.NewSSHAgentProvider(agents)
		if err != nil {
			return "", fmt.Errorf("forward SSH to the build: %w", err)
		}
		s.Allow(ssh)
	}
	// A session that cannot reach the Engine ends the build, which would
	// otherwise wait for it.
	parent := ctx
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	sessionDone := make(chan error, 1)
	go func() {
		err := s.Run(ctx, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/session", proto, meta)
		})
		if err != nil {
			cancel(c.wrap("open a BuildKit session with the Engine", err))
		}
		sessionDone <- err
	}()
	defer func() {
		s.Close()
		<-sessionDone
	}()

	buildID := randomID()
	cli, k, err := c.begin(ctx, "ImageBuild", slowCall)
	if err != nil {
		return "", err
	}
	defer k.done(nil)
	res, err := cli.ImageBuild(k.ctx, nil, build.ImageBuildOptions{
		Version:       build.BuilderBuildKit,
		SessionID:     s.ID(),
		BuildID:       buildID,
		RemoteContext: "client-session",
		Dockerfile:    o.DockerfileName,
		Tags:          o.Tags,
		BuildArgs:     buildArgs(o.BuildArgs),
		Target:        o.Target,
		CacheFrom:     o.CacheFrom,
		Remove:        true,
		ForceRemove:   true,
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ended(parent, ctx)
		}
		if err = k.answered(err); client.IsErrConnectionFailed(err) || errors.As(err, new(*StalledError)) {
			return "", c.wrap("build", err)
		}
		return "", &BuildError{Message: cleanBuildKitError(err.Error())}
	}
	k.answered(nil)
	defer res.Body.Close()
	// The Engine stops a BuildKit build when asked by its ID; closing the
	// stream alone may leave it running.
	cancelled := make(chan struct{})
	defer close(cancelled)
	go func() {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.quick())
			defer cancel()
			cli.BuildCancel(cctx, buildID)
		case <-cancelled:
		}
	}()
	id, err := readBuildKitStream(res.Body, out)
	if err != nil && ctx.Err() != nil {
		return "", ended(parent, ctx)
	}
	return id, err
}

// ended says why the build's ctx, made from parent, ended: parent's end
// (a cancelled run), or the session's failure.
func ended(parent, ctx context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	return context.Cause(ctx)
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// bkMessage is one JSON message of a BuildKit build's stream.
type bkMessage struct {
	ID          string          `json:"id"`
	Aux         json.RawMessage `json:"aux"`
	Error       string          `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readBuildKitStream decodes a BuildKit build's stream: its progress (the
// "moby.buildkit.trace" messages) is printed to out, and the built image's
// ID ("moby.image.id") returned.
func readBuildKitStream(r io.Reader, out io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	p := newPlainProgress(out)
	var id string
	for {
		var m bkMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("read build output: %w", err)
		}
		switch m.ID {
		case "moby.buildkit.trace":
			var dt []byte
			if err := json.Unmarshal(m.Aux, &dt); err != nil {
				return "", fmt.Errorf("read build progress: %w", err)
			}
			var resp controlapi.StatusResponse
			if err := proto.Unmarshal(dt, &resp); err != nil {
				return "", fmt.Errorf("read build progress: %w", err)
			}
			p.update(&resp)
		case "moby.image.id":
			var aux struct{ ID string }
			if err := json.Unmarshal(m.Aux, &aux); err == nil {
				id = aux.ID
			}
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			p.flush()
			return "", &BuildError{Message: cleanBuildKitError(msg), Instruction: p.failed}
		}
	}
	p.flush()
	if id == "" {
		return "", errors.New("the Engine ended the build without naming the image it built")
	}
	return id, nil
}

// cleanBuildKitError drops the prefixes BuildKit stacks on an error, which
// say nothing to a user, and joins it into one line.
func cleanBuildKitError(msg string) string {
	msg = strings.TrimPrefix(msg, "Error response from daemon: ")
	for _, p := range []string{"rpc error: code = Unknown desc = ", "failed to solve with frontend dockerfile.v0: ", "failed to solve with frontend gateway.v0: ", "failed to solve: ", "failed to build LLB: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return oneLine(msg)
}
