package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Image is a build rule that builds a Docker image with the Engine's
// BuildKit (or its classic builder) and tags it with its key.
type Image struct {
	info       engine.RuleInfo
	repo       string // familiar repository name: "acme/api"
	context    string // workspace-relative folder
	dockerfile string // workspace-relative file
	buildArgs  map[string]string
	target     string
	builder    string                   // "buildkit", "classic", or "" for BuildKit where the Engine has it
	secrets    map[string]engine.Secret // build secrets, by id
	cacheFrom  []string
	ssh        map[string]string // SSH forwarding: id → agent socket or key file ("" for $SSH_AUTH_SOCK)
	// prepared holds the IDs of the base images that Prepare found or
	// pulled, by reference, for the key computed right after it (see
	// baseID): each is taken once, so a later plan asks the Engine again.
	preparedMu sync.Mutex
	prepared   map[string]string
	ignore     []string // cleaned patterns, after .dockerignore's
	tags       []string // extra references, "repo:tag"
	push       bool     // push the image after building it
	live       []*step  // live_update steps
	synced     synced   // what live updates copied into which container
	ws         *engine.Workspace
	ev         *engine.Evaluation // knows the secrets read from files
	docker     Client
	images     *catalog
}

func imageBuiltin(docker Client, images *catalog) *engine.Builtin {
	return &engine.Builtin{
		Name:       "image",
		Permission: "docker",
		Doc: "Declares a build rule that builds a Docker image with the Docker Engine's BuildKit, or its classic builder where the Engine has no BuildKit (see [BuildKit](buildkit.md)). " +
			"Its key covers the context's files (after `.dockerignore` and `ignore`), the Dockerfile, the build arguments, the target, " +
			"the local ID of every base image named in `FROM` and the keys of `deps`; the image is tagged `repo:<first 12 hex digits of the key>` " +
			"and labelled with the key, and while an image with that key exists no build starts. " +
			"A base image the Engine lacks is pulled from its registry when the rule runs (never by a plan), as services' images are (see [registries](registries.md)); " +
			"one built by another `image` rule is built first: " +
			"`FROM acme/base` makes the rule whose repo is `acme/base` a dep and builds on the image it built. " +
			"A context that would send a secret's value (the file of a `secret(file = ...)` or `secret(dotenv = ...)`, or a file holding the value of a secret read during the run) is refused: see [secrets](secrets.md#not-in-an-image). " +
			"Paths are relative to the folder of the file that declares the image.",
		Params: append([]engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Unique name of the rule."},
			{Name: "repo", Type: engine.String, Required: true, Doc: "Repository to tag the image in, such as `acme/api` (no tag: ferry adds the key)."},
			{Name: "context", Type: engine.String, Default: `"."`, Doc: "Folder sent to the Engine as the build context."},
			{Name: "dockerfile", Type: engine.String, Default: `context + "/Dockerfile"`, Doc: "The Dockerfile; it may lie outside the context."},
			{Name: "build_args", Type: engine.StringDict, Default: "{}", Doc: "Values for the Dockerfile's `ARG`s (`FROM` lines see those declared before the first `FROM`)."},
			{Name: "target", Type: engine.String, Doc: "The stage to build, by its `AS` name; the last stage when not given."},
			{Name: "builder", Type: engine.String, Doc: "`\"buildkit\"` or `\"classic\"`: the Engine's builder to build with. When not given, BuildKit where the Engine has it (it says so when pinged, or is a Linux Engine of API 1.39 or later), else the classic builder. Not part of the key."},
			{Name: "secrets", Type: engine.SecretDict, Default: "{}", Doc: "Build secrets: ids to `secret()` values, which `RUN --mount=type=secret,id=ID` reads (BuildKit only). The values never enter the image, its history or the build output; they are not part of the key (a new value rebuilds nothing)."},
			{Name: "ssh", Type: engine.StringList, Default: "[]", Doc: "SSH agents to forward to `RUN --mount=type=ssh` (BuildKit only), as `docker build --ssh` takes them: `\"default\"` forwards the agent at `$SSH_AUTH_SOCK` under the id `default`; `\"ID=PATH\"` forwards an agent's socket or a private key file (`~/` is the home folder) under ID. Not part of the key."},
			{Name: "cache_from", Type: engine.StringList, Default: "[]", Doc: "Images whose layers a build may reuse as cache, such as the image pushed by an earlier build elsewhere (`127.0.0.1:5000/acme/api:latest`); images that ferry builds with BuildKit carry the cache metadata this needs. Not part of the key."},
			{Name: "ignore", Type: engine.StringList, Default: "[]", Doc: "Patterns of context files to leave out, relative to the context, in `.dockerignore` syntax, on top of the context's `.dockerignore`."},
			{Name: "deps", Type: engine.StringList, Default: "[]", Doc: "Names of rules that must succeed first, such as tasks that write into the context (image rules named in `FROM` are deps without being listed)."},
			{Name: "tag", Type: engine.StringList, Default: "[]", Doc: "More tags to give the image: `\"latest\"` tags `repo:latest`; a reference with a `:` (`\"acme/api:v1\"`) is used as it is."},
			{Name: "live_update", Type: stepType{}, Default: "[]", Doc: "How `ferry watch` updates the running containers of the services using this image in place when only some files changed, instead of rebuilding it: `fall_back_on(...)` steps, then `sync(...)` steps, then `run(...)`, `signal(...)` and `restart_container(...)` steps. Not part of the key: editing it rebuilds nothing. See docs/live-update.md."},
			{Name: "push", Type: engine.Bool, Default: "False", Doc: "Push `repo:<key>` and the extra tags to the registry the repository names (such as `registry.example.com/acme/api`) after each build; `ferry push` pushes whenever asked."},
			{Name: "doc", Type: engine.String, Doc: "One line shown by `ferry graph` and `ferry plan`."},
		}, engine.RuleAttrParams...),
		Returns: "the rule's name, to use in `deps`.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			return declareImage(thread, c, docker, images)
		},
	}
}

func declareImage(thread *starlark.Thread, c *engine.Call, docker Client, images *catalog) (starlark.Value, error) {
	ev, err := engine.Declaring(thread, c)
	if err != nil {
		return nil, err
	}
	dir := engine.ModuleDir(thread)
	i := &Image{
		info: engine.RuleInfo{
			Name:    c.String("name"),
			Kind:    "image",
			Pos:     c.Pos,
			Deps:    c.Strings("deps"),
			Doc:     c.String("doc"),
			Default: true,
		},
		buildArgs: c.StringMap("build_args"),
		target:    c.String("target"),
		builder:   c.String("builder"),
		cacheFrom: c.Strings("cache_from"),
		push:      c.Bool("push", false),
		ws:        ev.Workspace(),
		ev:        ev,
		docker:    docker,
		images:    images,
	}
	if i.info.Name == "" || strings.ContainsAny(i.info.Name, " \t\n,") {
		return nil, c.Errorf("name must be non-empty, with no spaces or commas")
	}
	if err := engine.SetRuleAttrs(c, &i.info); err != nil {
		return nil, err
	}
	switch i.builder {
	case "", builderBuildKit, builderClassic:
	default:
		return nil, c.Errorf(`builder %q is not a builder; use "buildkit" or "classic" (or leave it out: BuildKit where the Engine has it)`, i.builder)
	}
	i.secrets, _ = c.Value("secrets").(map[string]engine.Secret)
	if len(i.secrets) > 0 && i.builder == builderClassic {
		return nil, c.Errorf(`secrets = needs BuildKit, and builder = "classic" is set; remove builder = "classic" (ferry builds with BuildKit where the Engine has it)`)
	}
	ssh, err := sshAgents(c.Strings("ssh"))
	if err != nil {
		return nil, c.Errorf("ssh: %v", err)
	}
	i.ssh = ssh
	if len(i.ssh) > 0 && i.builder == builderClassic {
		return nil, c.Errorf(`ssh = needs BuildKit, and builder = "classic" is set; remove builder = "classic" (ferry builds with BuildKit where the Engine has it)`)
	}
	for id := range i.secrets {
		if id == "" || strings.ContainsAny(id, ", \t\n=") {
			return nil, c.Errorf("secrets: %q is not a valid secret id (the id of RUN --mount=type=secret,id=ID: no spaces, commas or '=')", id)
		}
	}
	repo, err := reference.ParseNormalizedNamed(c.String("repo"))
	if err != nil {
		return nil, c.Errorf("repo %q is not a valid repository name: %v (want lowercase, such as \"acme/api\")", c.String("repo"), err)
	}
	if !reference.IsNameOnly(repo) {
		return nil, c.Errorf("repo %q has a tag or digest; give the repository alone (ferry tags it with the key) and extra tags with tag =", c.String("repo"))
	}
	i.repo = reference.FamiliarName(repo)
	for _, t := range c.Strings("tag") {
		ref, err := extraTag(repo, t)
		if err != nil {
			return nil, c.Errorf("tag %q: %v", t, err)
		}
		i.tags = append(i.tags, ref)
	}
	if i.context, err = engine.JoinPath(dir, c.String("context")); err != nil {
		return nil, c.Errorf("context: %v", err)
	}
	df := path.Join(c.String("context"), "Dockerfile")
	if c.Has("dockerfile") {
		df = c.String("dockerfile")
	}
	if i.dockerfile, err = engine.JoinPath(dir, df); err != nil {
		return nil, c.Errorf("dockerfile: %v", err)
	}
	if i.ignore, err = ignorePatterns(c.Strings("ignore")); err != nil {
		return nil, c.Errorf("ignore: %v", err)
	}
	if steps, ok := c.Value("live_update").([]*step); ok && len(steps) > 0 {
		if err := i.checkLiveUpdate(steps); err != nil {
			return nil, c.Errorf("%v", err)
		}
		i.live = steps
	}
	if err := ev.AddRule(thread, i); err != nil {
		return nil, err
	}
	images.add(i)
	return starlark.String(i.info.Name), nil
}

// extraTag returns the reference that a tag= entry stands for: a bare tag
// of repo, or a reference of its own.
func extraTag(repo reference.Named, t string) (string, error) {
	if !strings.ContainsAny(t, "/:") {
		ref, err := reference.WithTag(repo, t)
		if err != nil {
			return "", err
		}
		return reference.FamiliarString(ref), nil
	}
	ref, err := reference.ParseNormalizedNamed(t)
	if err != nil {
		return "", err
	}
	if _, ok := ref.(reference.Tagged); !ok {
		return "", errors.New(`a reference given as a tag needs a tag, as in "acme/api:v1"`)
	}
	if _, ok := ref.(reference.Digested); ok {
		return "", errors.New("a tag cannot carry a digest")
	}
	return reference.FamiliarString(ref), nil
}

// Info returns the rule's metadata.
func (i *Image) Info() *engine.RuleInfo { return &i.info }

// Outputs returns nothing: the image lives in the Engine, not the workspace.
func (i *Image) Outputs() []string { return nil }

// Repo returns the repository the image is tagged in, such as "acme/api".
func (i *Image) Repo() string { return i.repo }

// SSH lists the ids of the SSH agents or keys that the build forwards
// (ssh =), sorted, for the security checks.
func (i *Image) SSH() []string { return slices.Sorted(maps.Keys(i.ssh)) }

// Build says how the image builds.
func (i *Image) Build() deploy.ImageBuild {
	return deploy.ImageBuild{Repo: i.repo, Context: i.context, Dockerfile: i.dockerfile, Target: i.target,
		Args: i.buildArgs, Secrets: i.secrets, CacheFrom: i.cacheFrom}
}

// Ref returns the reference of the image built for key: "repo:<short key>".
func (i *Image) Ref(key engine.Digest) string { return i.repo + ":" + key.Short() }

// Inputs returns the files of the context that the build sends, after
// .dockerignore and ignore=, with the Dockerfile and .dockerignore.
func (i *Image) Inputs(ctx context.Context) ([]string, error) {
	bc, err := i.readContext(ctx, i.ws)
	if err != nil {
		return nil, err
	}
	return bc.inputs(), nil
}

// Definition adds the repository, Dockerfile path, build arguments, target,
// ignore patterns and tags to h, and the local ID of every base image (an
// image built by another image rule, a dep since Link, is covered by that
// rule's key instead). A
// base that is not in the Engine is an error: ferry does not pull.
func (i *Image) Definition(ctx context.Context, h *engine.Hasher) error {
	h.String(i.repo).String(i.context).String(i.dockerfile).String(i.target)
	args := make([]string, 0, len(i.buildArgs))
	for k := range i.buildArgs {
		args = append(args, k)
	}
	sort.Strings(args)
	h.String(fmt.Sprint(len(args)))
	for _, k := range args {
		h.String(k).String(i.buildArgs[k])
	}
	h.String(fmt.Sprint(len(i.ignore)))
	for _, p := range i.ignore {
		h.String(p)
	}
	h.String(fmt.Sprint(len(i.tags)))
	for _, t := range i.tags {
		h.String(t)
	}
	// The context first: a missing one also hides the Dockerfile in it.
	if err := i.checkContext(i.ws); err != nil {
		return err
	}
	df, err := i.parse()
	if err != nil {
		return err
	}
	// What only BuildKit builds is refused now, before anything runs,
	// when the builder cannot build it (Run checks again).
	if len(df.buildKitOnly) > 0 || len(i.secrets) > 0 {
		buildKit, b, err := i.builderFor(ctx)
		if err != nil {
			return err
		}
		if err := i.checkBuilder(df, buildKit, b); err != nil {
			return err
		}
	}
	// The inputs key a link by its target string, but a Dockerfile that is
	// a link is sent as the file it leads to: key on that file.
	if fi, err := i.ws.Tree().Lstat(i.dockerfile); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		h.String("dockerfile").String(strings.Join(df.lines, "\n"))
	}
	for _, b := range df.bases {
		if dep := i.baseRule(b); dep != nil {
			h.String("rule").String(dep.info.Name)
			continue
		}
		id, err := i.baseID(ctx, b.ref)
		if err != nil {
			return err
		}
		if id == "" {
			// Only a plan gets here: a run pulls it first (Prepare).
			id = "absent: pulled when the image is built"
		}
		h.String(b.ref).String(id)
	}
	return nil
}

// Prepare pulls the base images that the Engine lacks and no image() rule
// builds, with the Docker config's credentials and progress as image.pull
// events, before the key, which holds their IDs, is computed.
func (i *Image) Prepare(ctx context.Context, events *engine.Bus) error {
	df, err := i.parse()
	if err != nil {
		return err
	}
	found := map[string]string{}
	for _, b := range df.bases {
		if i.baseRule(b) != nil {
			continue
		}
		res, err := PullImage(ctx, i.docker, b.ref, deploy.PullMissing, deploy.PullProgress(events, i.info.Name))
		if err != nil {
			return fmt.Errorf("base image %s (%s): %w", b.ref, df.pos(b.line), err)
		}
		found[b.ref] = res.ID
	}
	i.preparedMu.Lock()
	i.prepared = found
	i.preparedMu.Unlock()
	return nil
}

// baseID returns the local ID of the base image ref: the one Prepare just
// found, taken once, so that a run asks the Engine once per base; else
// the Engine's ("" when it has none).
func (i *Image) baseID(ctx context.Context, ref string) (string, error) {
	i.preparedMu.Lock()
	id, ok := i.prepared[ref]
	delete(i.prepared, ref)
	i.preparedMu.Unlock()
	if ok {
		return id, nil
	}
	return i.docker.ImageID(ctx, ref)
}

// parse reads and parses the Dockerfile.
func (i *Image) parse() (*dockerfile, error) {
	src, err := i.ws.Tree().ReadFile(i.dockerfile)
	var le *engine.LinkError
	switch {
	case errors.As(err, &le):
		return nil, fmt.Errorf("Dockerfile (image declared at %s): %w", i.info.Pos, err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("Dockerfile %s does not exist (image declared at %s); create it, or set dockerfile =", i.dockerfile, i.info.Pos)
	case err != nil:
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	return parseDockerfile(i.dockerfile, src, i.buildArgs, i.target)
}

// baseRule returns the image rule of this evaluation that builds base b, or
// nil when b comes from outside the workspace.
func (i *Image) baseRule(b base) *Image {
	if _, ok := b.named.(reference.Digested); ok || b.named == nil {
		return nil
	}
	name, tag := reference.FamiliarName(b.named), ""
	if t, ok := b.named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	for _, r := range i.images.all() {
		if r == i || r.repo != name {
			continue
		}
		if tag != "" && tag != "latest" && !slices.Contains(r.tags, name+":"+tag) {
			continue
		}
		return r
	}
	return nil
}

// Link makes every image rule that the Dockerfile names as a base a dep, so
// that FROM acme/base builds on what the rule for acme/base built, after it.
// A Dockerfile that cannot be read or parsed is reported when the key is
// computed, with its position, not here.
func (i *Image) Link(func(string) engine.Rule) error {
	df, err := i.parse()
	if err != nil {
		return nil
	}
	for _, b := range df.bases {
		if r := i.baseRule(b); r != nil && !slices.Contains(i.info.Deps, r.info.Name) {
			i.info.Deps = append(i.info.Deps, r.info.Name)
		}
	}
	return nil
}

// Observe reports whether the image built for key is in the Engine with all
// its tags. It changes nothing: a missing tag makes the rule run, and Run
// puts it back without a build.
func (i *Image) Observe(ctx context.Context, key engine.Digest) (bool, string, error) {
	img, err := i.lookup(ctx, key)
	switch {
	case err != nil:
		return false, "", err
	case img == nil:
		return false, fmt.Sprintf("image %s is not in the Docker Engine", i.Ref(key)), nil
	}
	if missing := i.missingTags(img, key); len(missing) > 0 {
		return false, fmt.Sprintf("image %s lacks the tag(s) %s", shortID(img.ID), strings.Join(missing, ", ")), nil
	}
	return true, "", nil
}

// lookup returns the image built for key, or nil. Images built by hand FROM
// it inherit its labels, so among those labelled with the key it prefers the
// one tagged with the key's reference, and else the oldest: the original.
func (i *Image) lookup(ctx context.Context, key engine.Digest) (*dockerapi.Image, error) {
	imgs, err := i.docker.ImagesByLabel(ctx, LabelKey, key.String())
	if err != nil || len(imgs) == 0 {
		return nil, err
	}
	best := &imgs[0]
	for j := range imgs {
		img := &imgs[j]
		if slices.Contains(img.Tags, i.Ref(key)) {
			return img, nil
		}
		if img.Created.Before(best.Created) {
			best = img
		}
	}
	return best, nil
}

// missingTags lists the references (the key's and the extra tags) that do
// not point at img.
func (i *Image) missingTags(img *dockerapi.Image, key engine.Digest) []string {
	var out []string
	for _, ref := range append([]string{i.Ref(key)}, i.tags...) {
		if !slices.Contains(img.Tags, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// errBuildEnded stops the context stream when the Engine stopped reading it.
var errBuildEnded = errors.New("build ended")

// Run builds the image for rc.Key, unless an image with that key is in the
// Engine already (the content came back to an earlier state), in which case
// it only tags it.
//
// In a watch session, when only synced files changed, it live-updates the
// running containers instead (see liveUpdate).
//
// A context that sends a secret's file is refused, even when the image is
// in the Engine already: it was built with the secret in it.
func (i *Image) Run(rc *engine.RunContext) error {
	if rc.LiveUpdate && len(i.live) > 0 && rc.Key != rc.PrevKey {
		if err := i.liveUpdate(rc); err != nil {
			return err
		}
	}
	ref := i.Ref(rc.Key)
	img, err := i.lookup(rc, rc.Key)
	if err != nil {
		return err
	}
	if img != nil {
		// Walks the context only when a secret's file is in its folder.
		files, err := i.SecretFilesSent(rc)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			return i.secretFilesError(files)
		}
		for _, t := range i.missingTags(img, rc.Key) {
			if err := i.docker.Tag(rc, img.ID, t); err != nil {
				return err
			}
		}
		fmt.Fprintf(rc.Stdout, "an image with this key is already in the Docker Engine; tagged it %s\n", ref)
		return i.pushIfAsked(rc, rc.Key)
	}
	bc, err := i.readContext(rc, rc.Workspace)
	if err != nil {
		return err
	}
	if files := i.secretFilesIn(bc); len(files) > 0 {
		return i.secretFilesError(files)
	}
	df, err := i.parse()
	if err != nil {
		return err
	}
	refs := map[int]string{}
	for n, b := range df.bases {
		if dep := i.baseRule(b); dep != nil {
			refs[n] = dep.Ref(rc.DepKeys[dep.info.Name])
		}
	}
	buildKit, b, err := i.builderFor(rc)
	if err != nil {
		return err
	}
	if err := i.checkBuilder(df, buildKit, b); err != nil {
		return err
	}
	var secrets map[string][]byte
	if buildKit {
		if err := i.checkSSH(); err != nil {
			return err
		}
		if secrets, err = i.revealBuildSecrets(rc); err != nil {
			return err
		}
	}
	dockerfile := df.render(refs, objects.OwnLabels(deploy.OwnerOf(rc.Workspace.Root), map[string]string{
		LabelKey:             rc.Key.String(),
		objects.LabelRule:    i.info.Name,
		objects.LabelProject: i.project(rc.Workspace),
	}))
	var values *redact.Matcher // of the secrets read so far
	if i.images.secrets != nil {
		values = i.images.secrets.Matcher()
	}
	var id string
	if buildKit {
		id, err = i.buildWithBuildKit(rc, bc, df, dockerfile, secrets, values)
	} else {
		id, err = i.buildClassic(rc, bc, df, dockerfile, values)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(rc.Stdout, "built %s (%s)\n", ref, shortID(id))
	return i.pushIfAsked(rc, rc.Key)
}

// buildClassic builds the image with the Engine's classic builder, from a
// tar stream of the context, and returns its ID.
func (i *Image) buildClassic(rc *engine.RunContext, bc *buildContext, df *dockerfile, dockerfile []byte, values *redact.Matcher) (string, error) {
	o := dockerapi.BuildOptions{
		Dockerfile: bc.dockerfile,
		Tags:       append([]string{i.Ref(rc.Key)}, i.tags...),
		BuildArgs:  i.buildArgs,
		Target:     i.target,
		CacheFrom:  i.cacheFrom,
	}
	id, tarErr, err := retryLostCache(rc, func() (string, error, error) {
		pr, pw := io.Pipe()
		tarDone := make(chan error, 1)
		go func() {
			err := bc.writeTar(rc, pw, rc.Workspace, dockerfile, values)
			pw.CloseWithError(err)
			tarDone <- err
		}()
		id, err := i.docker.Build(rc, pr, o, rc.Stdout)
		pr.CloseWithError(errBuildEnded)
		return id, <-tarDone, err
	})
	var secretErr *secretContentError
	if errors.As(tarErr, &secretErr) {
		if err == nil { // the Engine cannot build from a cut stream; should it have
			if rmErr := i.docker.Remove(context.WithoutCancel(rc), id); rmErr != nil {
				return "", fmt.Errorf("%w; and the image %s built all the same could not be removed: %v; remove it by hand (docker rmi)", secretErr, shortID(id), rmErr)
			}
		}
		return "", secretErr
	}
	if err != nil {
		if tarErr != nil && !errors.Is(tarErr, errBuildEnded) && !errors.Is(tarErr, io.ErrClosedPipe) && rc.Err() == nil {
			return "", fmt.Errorf("send the build context: %w", tarErr)
		}
		return "", i.buildError(df, err)
	}
	return id, nil
}

// buildAttempts is how many times a build that the Engine's classic
// builder failed for a lost cached image is tried.
const buildAttempts = 3

// lostCachedImage matches the classic builder's messages for an image of
// its cache that is gone (moby's image/cache: "unable to find image
// sha256:…: …" and `unable to find image "sha256:…"`).
var lostCachedImage = regexp.MustCompile(`unable to find image "?sha256:[0-9a-f]+`)

// retryLostCache runs build (which sends the context and builds, and
// returns the image's ID, the context's error and the build's) again, up to
// buildAttempts times in all, while the classic builder fails it with
// "unable to find image sha256:…": its cache lookup met an image that
// another build's cleanup (docker rmi, docker image prune) removed
// meanwhile, and a new attempt builds without it.
func retryLostCache(rc *engine.RunContext, build func() (string, error, error)) (string, error, error) {
	for attempt := 1; ; attempt++ {
		id, tarErr, err := build()
		var be *dockerapi.BuildError
		if attempt == buildAttempts || rc.Err() != nil || !errors.As(err, &be) || !lostCachedImage.MatchString(be.Message) {
			return id, tarErr, err
		}
		fmt.Fprintf(rc.Stdout, "the Docker Engine lost an image that the build used from its cache (%s), which something else removed meanwhile: building again (attempt %d of %d)\n", be.Message, attempt+1, buildAttempts)
	}
}

// buildError names the Dockerfile line of the step that failed.
func (i *Image) buildError(df *dockerfile, err error) error {
	var be *dockerapi.BuildError
	if !errors.As(err, &be) {
		return err
	}
	if line := df.stepLine(be.Step); line > 0 {
		return fmt.Errorf("build failed at %s (%s): %s", df.pos(line), be.Instruction, be.Message)
	}
	return fmt.Errorf("build of %s failed: %s", df.path, be.Message)
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// project is the project the image is labelled with.
func (i *Image) project(ws *engine.Workspace) string {
	if i.images.project != "" {
		return i.images.project
	}
	return engine.ProjectName(ws.Root)
}
