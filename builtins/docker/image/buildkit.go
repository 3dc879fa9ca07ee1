package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// The builders image(builder = ...) accepts.
const (
	builderBuildKit = "buildkit"
	builderClassic  = "classic"
)

// buildKitClient builds with the Engine's BuildKit.
type buildKitClient interface {
	// Builder says how the Engine builds: with BuildKit or not.
	Builder(ctx context.Context) (dockerapi.BuilderInfo, error)
	// BuildWithBuildKit builds an image with BuildKit over a session,
	// writes the build's progress to out and returns the image's ID; a
	// failed build is a *dockerapi.BuildError.
	BuildWithBuildKit(ctx context.Context, o dockerapi.BuildKitOptions, out io.Writer) (string, error)
}

// builderFor returns the builder that builds i, and what the Engine says
// of its builders: BuildKit unless builder = "classic", or the Engine has
// none and builder is not given.
func (i *Image) builderFor(ctx context.Context) (bool, dockerapi.BuilderInfo, error) {
	if i.builder == builderClassic {
		return false, dockerapi.BuilderInfo{}, nil
	}
	b, err := i.docker.Builder(ctx)
	if err != nil {
		return false, b, err
	}
	if i.builder == builderBuildKit && !b.BuildKit {
		return false, b, fmt.Errorf(`builder = "buildkit" (image declared at %s), but the Docker Engine (API %s) builds with the classic builder only; enable BuildKit in the Engine ("features": {"buildkit": true} in daemon.json), or remove builder = to build with the classic builder`, i.info.Pos, b.APIVersion)
	}
	return b.BuildKit, b, nil
}

// checkBuilder refuses, with its line, what the chosen builder cannot
// build: BuildKit syntax and build secrets under the classic builder, and
// a heredoc that the Engine's built-in frontend cannot read.
func (i *Image) checkBuilder(df *dockerfile, buildKit bool, b dockerapi.BuilderInfo) error {
	why := `builder = "classic" is set`
	fix := `remove builder = "classic" (ferry builds with BuildKit where the Engine has it), or rewrite it without`
	if i.builder != builderClassic {
		why = "the Docker Engine builds with the classic builder only"
		fix = `enable BuildKit in the Engine ("features": {"buildkit": true} in daemon.json), or rewrite it without`
	}
	if !buildKit {
		if len(df.buildKitOnly) > 0 {
			f := df.buildKitOnly[0]
			return fmt.Errorf("%s: %s needs BuildKit, and %s; %s", df.pos(f.line), f.what, why, fix)
		}
		if len(i.ssh) > 0 {
			return fmt.Errorf("ssh = (image declared at %s) needs BuildKit, and %s; %s", i.info.Pos, why, strings.Replace(fix, "rewrite it without", "take ssh = out", 1))
		}
		if len(i.secrets) > 0 {
			return fmt.Errorf("secrets = (image declared at %s) needs BuildKit, and %s; %s", i.info.Pos, why, strings.Replace(fix, "rewrite it without", "pass the secrets some other way", 1))
		}
		return nil
	}
	if h := df.heredoc; h != nil && df.syntax == "" && !b.Heredocs {
		return fmt.Errorf("%s: %s needs a newer Dockerfile frontend than the one built into this Docker Engine (API %s; heredocs came with Engine 23): rewrite it without, or name a frontend image that reads them with a first line such as \"# syntax=docker/dockerfile:1.7\" (the Engine pulls it, or takes it from its images; see docs/buildkit.md)", df.pos(h.line), h.what, b.APIVersion)
	}
	return nil
}

// revealBuildSecrets reads the values of secrets = for the build; reading
// one hands it to the redactor, so no output shows it.
func (i *Image) revealBuildSecrets(ctx context.Context) (map[string][]byte, error) {
	if len(i.secrets) == 0 {
		return nil, nil
	}
	out := make(map[string][]byte, len(i.secrets))
	for _, id := range slices.Sorted(maps.Keys(i.secrets)) {
		v, err := i.secrets[id].Reveal(ctx)
		switch {
		case errors.Is(err, engine.ErrSecretAbsent):
			return nil, fmt.Errorf("build secret %q has no value (image declared at %s): %v; a build secret needs one: give it a value, or take it out of secrets =", id, i.info.Pos, err)
		case err != nil:
			return nil, fmt.Errorf("build secret %q: %w", id, err)
		case v == "":
			return nil, fmt.Errorf("build secret %q is empty (image declared at %s); give %s a value", id, i.info.Pos, i.secrets[id].Source())
		}
		out[id] = []byte(v)
	}
	return out, nil
}

// buildWithBuildKit builds the image with the Engine's BuildKit: the
// context travels file by file over the session (the Engine keeps what it
// was sent before and asks only for changes), the Dockerfile as rendered,
// and the build secrets as values the session answers with.
func (i *Image) buildWithBuildKit(rc *engine.RunContext, bc *buildContext, df *dockerfile, dockerfile []byte, secrets map[string][]byte, values *redact.Matcher) (string, error) {
	ctx, stop := context.WithCancel(rc)
	defer stop()
	cfs := newContextFS(rc.Workspace.Tree(), bc, values)
	cfs.found = stop
	args := maps.Clone(i.buildArgs)
	if args == nil {
		args = map[string]string{}
	}
	// The image keeps the metadata that lets a later build use it as
	// cache (cache_from), locally or from a registry.
	if _, set := args["BUILDKIT_INLINE_CACHE"]; !set {
		args["BUILDKIT_INLINE_CACHE"] = "1"
	}
	id, err := i.docker.BuildWithBuildKit(ctx, dockerapi.BuildKitOptions{
		Context:        cfs,
		Dockerfile:     dockerfileFS("Dockerfile", dockerfile),
		DockerfileName: "Dockerfile",
		SharedKey:      rc.Workspace.Root + "/" + i.context,
		Tags:           append([]string{i.Ref(rc.Key)}, i.tags...),
		BuildArgs:      args,
		Target:         i.target,
		CacheFrom:      i.cacheFrom,
		Secrets:        secrets,
		SSH:            i.ssh,
	}, rc.Stdout)
	if err := cfs.Err(); err != nil {
		return "", err
	}
	if err != nil {
		return "", i.buildKitError(df, err)
	}
	return id, nil
}

// buildKitError names the Dockerfile line of the step that failed, and
// says what to do about a frontend image that could not be had.
func (i *Image) buildKitError(df *dockerfile, err error) error {
	var be *dockerapi.BuildError
	if !errors.As(err, &be) {
		return err
	}
	login := registryLogin(be.Message)
	if df.syntax != "" && strings.Contains(be.Message, frontendPath(df.syntax)) {
		if login != "" {
			login += ", or "
		}
		return fmt.Errorf("%s: the \"# syntax=%s\" line asks for a Dockerfile frontend image, and BuildKit could not get it: %s; "+
			"%spull it into the Engine first (docker pull %s), or mirror it into a registry you reach and pin it there (# syntax=registry.example.com/docker/dockerfile:1@sha256:…), or remove the line to build with the Engine's built-in frontend",
			df.pos(df.syntaxLine), df.syntax, be.Message, login, df.syntax)
	}
	if login != "" {
		return fmt.Errorf("build of %s failed: BuildKit could not pull an image the build needs: %s; %s", df.path, be.Message, login)
	}
	if m := parseErrorRE.FindStringSubmatch(be.Message); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg := fmt.Sprintf("%s: the Engine's Dockerfile frontend refused it: %s", df.pos(line), m[2])
		if strings.HasPrefix(m[2], "Unknown flag") && df.syntax == "" {
			msg += "; the frontend built into this Engine is older than the flag: rewrite it without, or name a newer frontend with a first line such as \"# syntax=docker/dockerfile:1.7\" (see docs/buildkit.md)"
		}
		return errors.New(msg)
	}
	if line := df.instructionLine(be.Instruction); line > 0 {
		return fmt.Errorf("build failed at %s (%s): %s", df.pos(line), be.Instruction, be.Message)
	}
	return fmt.Errorf("build of %s failed: %s", df.path, be.Message)
}

// registryLogin says what to do when msg, a BuildKit error, says that a
// registry refused a pull for want of credentials: log in, or log in
// again when the Docker config has credentials for it (which ferry hands
// BuildKit over the build's session); "" for any other error.
func registryLogin(msg string) string {
	l := strings.ToLower(msg)
	if !strings.Contains(l, "401 unauthorized") && !strings.Contains(l, "failed to authorize") &&
		!strings.Contains(l, "pull access denied") && !strings.Contains(l, "insufficient_scope") {
		return ""
	}
	var host string
	if m := registryHostRE.FindStringSubmatch(msg); m != nil {
		host = m[1]
	} else if m := metadataRefRE.FindStringSubmatch(msg); m != nil {
		host, _ = dockerapi.RegistryHost(m[1])
	}
	if host == "" {
		return "a registry refused a pull for want of credentials: log in to it with `docker login HOST` (ferry hands BuildKit the credentials of the Docker config)"
	}
	if host == "registry-1.docker.io" || host == "index.docker.io" {
		host = "docker.io" // as pulls and docker login name Docker Hub
	}
	if auth, err := dockerapi.RegistryAuth(host + "/x"); err == nil && auth != "" {
		return fmt.Sprintf("%s refused the credentials ferry found for it in the Docker config: log in again with `docker login %s`", host, host)
	}
	return fmt.Sprintf("%s wants credentials, and the Docker config has none for it: log in with `docker login %s` (ferry hands BuildKit what it stores)", host, host)
}

// registryHostRE and metadataRefRE find the registry in BuildKit's words
// for a refused pull: "pulling from host HOST failed …", or "failed to
// resolve source metadata for REF: …".
var (
	registryHostRE = regexp.MustCompile(`pulling from host ([^\s/]+)`)
	metadataRefRE  = regexp.MustCompile(`source metadata for ([^\s]+?):\s`)
)

// parseErrorRE matches the error of a Dockerfile that BuildKit's frontend
// cannot read: its line, and what is wrong.
var parseErrorRE = regexp.MustCompile(`dockerfile parse error (?:on )?line (\d+): (.*)$`)

// frontendPath returns the repository path of a frontend image reference,
// as registry errors name it: "docker/dockerfile" for docker/dockerfile:1.
func frontendPath(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.Path(named)
}

// sshAgents reads ssh = entries: "ID" forwards the agent at $SSH_AUTH_SOCK,
// "ID=PATH" an agent's socket or a private key file.
func sshAgents(specs []string) (map[string]string, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, spec := range specs {
		id, p, _ := strings.Cut(spec, "=")
		if id == "" || strings.ContainsAny(id, ", \t\n") {
			return nil, fmt.Errorf("%q has no valid id; write \"default\" (the agent at $SSH_AUTH_SOCK) or \"ID=PATH\"", spec)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("id %q is given twice", id)
		}
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("%q: %v", spec, err)
			}
			p = filepath.Join(home, rest)
		}
		if p != "" && !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%q: the path must be absolute or start with ~/ (an agent's socket or a key file, which belongs outside the workspace)", spec)
		}
		out[id] = p
	}
	return out, nil
}

// checkSSH says what to do when ssh = forwards the agent at $SSH_AUTH_SOCK
// and there is none.
func (i *Image) checkSSH() error {
	for id, p := range i.ssh {
		if p == "" && os.Getenv("SSH_AUTH_SOCK") == "" {
			return fmt.Errorf("ssh = forwards the SSH agent as %q (image declared at %s), but SSH_AUTH_SOCK is not set; start an agent and add a key (eval $(ssh-agent); ssh-add), or give a key file: ssh = [\"%s=~/.ssh/id_ed25519\"]", id, i.info.Pos, id)
		}
	}
	return nil
}
