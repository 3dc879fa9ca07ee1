package compose

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/ferryhq/ferry/engine"
)

// ImportOptions say which compose project to translate, and where the
// ferry.star goes.
type ImportOptions struct {
	LoadOptions
	// OutDir is the folder of the ferry.star written: paths in it are
	// relative to that folder. "": the project's folder. With File, the
	// folder of File.
	OutDir string
	// File is the file Import writes the ferry.star to; "": none (the
	// caller has Result.Starlark).
	File string
	// Force overwrites File when it exists; without it, Import refuses
	// with ErrFileExists before it reads the project.
	Force bool
}

// ErrFileExists is returned by Import when ImportOptions.File exists and
// Force is not set.
var ErrFileExists = errors.New("the file exists; give --force to overwrite it")

// A Result is a translated compose project.
type Result struct {
	Project  string // the compose project's name
	Starlark []byte // the ferry.star
	// Findings are what was not translated, by position; the ferry.star
	// lists them too, in comments at its end.
	Findings []Finding
	// Warnings are what compose warned of while reading the project,
	// such as a variable that is not set.
	Warnings []string
}

// Import reads a compose project and translates it into a ferry.star.
func Import(ctx context.Context, o ImportOptions) (*Result, error) {
	if o.File != "" {
		o.OutDir = filepath.Dir(o.File)
		if _, err := os.Stat(o.File); err == nil && !o.Force {
			return nil, ErrFileExists
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	p, err := load(ctx, o.LoadOptions)
	if err != nil {
		return nil, err
	}
	out := cmp.Or(o.OutDir, p.WorkingDir)
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	t := &translator{p: p, out: out, home: homeDir(), secrets: map[string]string{}, findings: p.findings, jobs: map[string]bool{}, names: map[string]string{}, built: map[string]string{}, envSecrets: map[string]string{}, vars: map[string]bool{}}
	res, err := t.translate()
	if err != nil || o.File == "" {
		return res, err
	}
	return res, engine.WriteFileAtomic(o.File, res.Starlark, 0o644)
}

func homeDir() string {
	h, _ := os.UserHomeDir()
	return h
}

type translator struct {
	p        *project
	out      string // folder of the ferry.star
	home     string
	calls    []call
	findings []Finding
	secrets  map[string]string // compose secret name → Starlark variable
	jobs     map[string]bool   // services that run to completion (jobs)
	names    map[string]string // compose service name → ferry rule name, where they differ
	built    map[string]string // image references that a service builds → its image() rule
	// envSecrets are the secret() variables of environment variables that
	// values referred to ("${DB_PASSWORD}"), by variable name.
	envSecrets map[string]string
	vars       map[string]bool // Starlark variables declared
	// dotenvVar is the variable of the dotenv() call that keeps values
	// interpolated from the project's .env live; "" until one needs it.
	dotenvVar string
}

// A workload is a compose service or job: what service() and job() share.
type workload struct {
	kind     string // "services" or "jobs": the model path's first part
	name     string
	profiles []string
	types.ContainerSpec
	types.WorkloadSpec
	svc *types.ServiceConfig // nil for a compose job
}

func (w *workload) path(parts ...string) string {
	return pathOf(append([]string{w.kind, w.name}, parts...)...)
}

func (t *translator) note(path, why string) {
	t.findings = append(t.findings, Finding{Path: path, Pos: t.p.files.pos(path), Why: why})
}

func (t *translator) translate() (*Result, error) {
	var loads []workload
	for _, name := range slices.Sorted(maps.Keys(t.p.Services)) {
		s := t.p.Services[name]
		loads = append(loads, workload{kind: "services", name: name, profiles: s.Profiles, ContainerSpec: s.ContainerSpec, WorkloadSpec: s.WorkloadSpec, svc: &s})
		if job, _ := s.Extensions[jobExtension].(bool); job {
			t.jobs[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.p.Jobs)) {
		j := t.p.Jobs[name]
		loads = append(loads, workload{kind: "jobs", name: name, profiles: j.Profiles, ContainerSpec: j.ContainerSpec, WorkloadSpec: j.WorkloadSpec})
		t.jobs[name] = true
	}
	for _, w := range loads {
		t.rename(w)
		if w.Build != nil && w.Image != "" {
			t.built[w.Image] = t.ruleName(w.name) + "-image"
		}
		for dep, d := range w.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				t.jobs[dep] = true
			}
		}
	}
	t.declareSecrets()
	t.declareResources("volume", volumesOf(t.p.Volumes))
	t.declareResources("network", t.networksOf(t.p.Networks))
	for _, w := range loads {
		if err := t.workload(&w); err != nil {
			return nil, err
		}
	}
	t.leaveOutSecrets()
	sortFindings(t.findings)
	return &Result{Project: t.p.Name, Starlark: t.render(), Findings: t.findings, Warnings: t.p.warnings}, nil
}

// rename records a ferry name for a compose service whose name ferry does
// not take (upper case, dots: a rule name is a DNS name).
func (t *translator) rename(w workload) {
	n := strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, w.name)
	if n != w.name {
		t.names[w.name] = n
		t.note(w.path(), fmt.Sprintf("renamed %s: a ferry service's name is a DNS name of lowercase letters, digits, '-' and '_'; other services reach it by the new name", n))
	}
}

func (t *translator) ruleName(compose string) string { return cmp.Or(t.names[compose], compose) }

func (t *translator) render() []byte {
	var sb strings.Builder
	files := make([]string, len(t.p.ComposeFiles))
	for i, f := range t.p.ComposeFiles {
		files[i] = strings.TrimPrefix(t.rel(f), "./")
	}
	fmt.Fprintf(&sb, "# Translated by `ferry import compose` from %s (compose project %q).\n", oneLine(strings.Join(files, ", ")), t.p.Name)
	sb.WriteString("# Review it before use: docs/compose.md says what maps to what.\n")
	for _, w := range t.p.warnings {
		sb.WriteString("# compose warned: " + oneLine(w) + "\n")
	}
	for _, c := range t.calls {
		sb.WriteString("\n")
		c.render(&sb)
	}
	if len(t.findings) > 0 {
		sb.WriteString("\n# Not translated (see docs/compose.md):\n")
		for _, f := range t.findings {
			sb.WriteString("#   " + f.String() + "\n")
		}
	}
	return []byte(sb.String())
}

// rel writes a host path as the ferry.star gives it: relative to its
// folder (./x, ../x), under the home folder (~/x), or absolute.
func (t *translator) rel(p string) string {
	r, err := filepath.Rel(t.out, p)
	switch {
	case err == nil && r == ".":
		return "."
	case err == nil && !strings.HasPrefix(r, ".."):
		return "./" + filepath.ToSlash(r)
	case t.home != "" && strings.HasPrefix(p, t.home+string(filepath.Separator)):
		return "~/" + filepath.ToSlash(p[len(t.home)+1:])
	case err == nil && strings.Count(r, "..") <= 2:
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(p)
}

// starName is a Starlark variable for a compose name.
func starName(n string) string {
	v := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, n)
	if v == "" || v[0] >= '0' && v[0] <= '9' || predeclared[v] {
		v = "secret_" + v
	}
	return v
}

// predeclared are the names a variable must not shadow.
var predeclared = map[string]bool{
	"secret": true, "service": true, "job": true, "image": true, "volume": true, "network": true, "health": true,
	"task": true, "glob": true, "config": true, "json": true, "yaml": true, "os": true, "time": true, "math": true,
	"environment": true, "pipeline": true, "autoscale": true, "sync": true, "run": true, "signal": true,
	"load": true, "def": true, "if": true, "for": true, "in": true, "not": true, "and": true, "or": true,
	"pass": true, "return": true, "lambda": true, "None": true, "True": true, "False": true,
}

func (t *translator) declareSecrets() {
	for _, name := range slices.Sorted(maps.Keys(t.p.Secrets)) {
		s := t.p.Secrets[name]
		c := call{fn: "secret", args: []arg{{value: str(name)}}, comment: []string{"compose: secrets." + name}}
		switch rel := t.rel(s.File); {
		case s.File != "" && (strings.HasPrefix(rel, "./") || !strings.Contains(rel, "/")):
			c.args = append(c.args, arg{"file", str(strings.TrimPrefix(rel, "./"))})
		case s.File != "":
			// ferry reads secret files inside the workspace only.
			cmd := "cat " + shellPath(rel)
			c.args = append(c.args, arg{"cmd", str(cmd)})
			t.note(pathOf("secrets", name, "file"), fmt.Sprintf("%s lies outside the folder of ferry.star, where secret(file = ...) reads: it is read with cmd = %q instead", rel, cmd))
		case s.Environment != "":
			c.args = append(c.args, arg{"env", str(s.Environment)})
		default:
			continue // external or content: reported with the attribute
		}
		t.secrets[name] = t.freeVar(name)
		c.assign = t.secrets[name]
		t.calls = append(t.calls, c)
	}
}

type resource struct {
	key, name string // the compose key, and the name ferry uses
	external  bool
	internal  bool // a network without a route out
}

func volumesOf(vs types.Volumes) []resource {
	var out []resource
	for k, v := range vs {
		r := resource{key: k, name: k, external: bool(v.External)}
		if r.external && v.Name != "" {
			r.name = v.Name
		}
		out = append(out, r)
	}
	return out
}

func (t *translator) networksOf(ns types.Networks) []resource {
	var out []resource
	for k, n := range ns {
		internal := n.Internal
		switch {
		case internal && bool(n.External):
			t.note(pathOf("networks", k, "internal"), "an external network is made outside the project, internal or not: ferry does not create it (create it with docker network create --internal)")
			internal = false
		case internal && k == "default":
			t.note(pathOf("networks", k, "internal"), "the project's own network, which every service joins unless default_network = False, cannot be internal: declare another network with internal = True, and put the services on it")
		}
		if k == "default" && !bool(n.External) {
			continue // the project's own network, which every ferry service joins
		}
		r := resource{key: k, name: k, external: bool(n.External), internal: internal}
		if r.external && n.Name != "" {
			r.name = n.Name
		}
		out = append(out, r)
	}
	return out
}

func (t *translator) declareResources(fn string, rs []resource) {
	slices.SortFunc(rs, func(a, b resource) int { return strings.Compare(a.key, b.key) })
	for _, r := range rs {
		c := call{fn: fn, args: []arg{{value: str(r.name)}}, comment: []string{fmt.Sprintf("compose: %ss.%s", fn, r.key)}}
		if r.external {
			c.args = append(c.args, arg{"external", boolean(true)})
		}
		if r.internal {
			c.args = append(c.args, arg{"internal", boolean(true)})
		}
		t.calls = append(t.calls, c)
	}
}

// volumeName and networkName are the names ferry uses for a compose
// volume or network key: an external one's own name.
func (t *translator) volumeName(key string) string {
	if v, ok := t.p.Volumes[key]; ok && bool(v.External) && v.Name != "" {
		return v.Name
	}
	return key
}

func (t *translator) networkName(key string) string {
	if n, ok := t.p.Networks[key]; ok && bool(n.External) && n.Name != "" {
		return n.Name
	}
	return key
}

func (t *translator) workload(w *workload) error {
	name := t.ruleName(w.name)
	job := t.jobs[w.name]
	fn := "service"
	if job {
		fn = "job"
	}
	pos := t.p.files.pos(w.path())
	c := call{path: w.path(), fn: fn, args: []arg{{"name", str(name)}}, comment: []string{fmt.Sprintf("compose: %s.%s (%s)", w.kind, w.name, pos)}}
	if job && w.kind == "services" {
		c.comment = append(c.comment, "A job: what depends on it waits until it exits with 0 (condition: service_completed_successfully).")
	}
	add := func(k string, v expr) { c.args = append(c.args, arg{k, v}) }

	switch {
	case w.Build != nil:
		img, err := t.image(w, name)
		if err != nil {
			return err
		}
		if img == "" {
			return nil
		}
		add("image", str(img))
	case t.built[w.Image] != "":
		add("image", str(t.built[w.Image]))
	case w.Image != "":
		add("image", t.interpolated(rawValue(t.p.raw, w.kind, w.name, "image"), w.Image))
	default:
		t.note(w.path(), "it has neither image nor build; give image = by hand")
		return nil
	}
	switch w.PullPolicy {
	case "", types.PullPolicyMissing, types.PullPolicyIfNotPresent, types.PullPolicyBuild:
	case types.PullPolicyAlways, types.PullPolicyNever:
		add("pull", str(w.PullPolicy))
	default:
		t.note(w.path("pull_policy"), fmt.Sprintf("pull_policy %q: ferry pulls when the image is missing (pull = \"missing\"), always, or never", w.PullPolicy))
	}
	if w.Command != nil {
		add("command", strs(w.Command))
	}
	if w.Entrypoint != nil {
		add("entrypoint", strs(w.Entrypoint))
	}
	env := t.environment(w)
	envFiles := t.envFiles(w, env)
	if len(env) > 0 {
		add("env", env)
	}
	if envFiles != nil {
		add("env_file", envFiles)
	}
	if files := t.secretFiles(w); len(files) > 0 {
		add("secret_files", files)
	}
	if configs := t.configs(w); len(configs) > 0 {
		add("configs", configs)
	}
	if ports := t.ports(w); len(ports) > 0 {
		add("ports", strs(ports))
	}
	vols, tmpfs := t.volumes(w)
	if len(vols) > 0 {
		add("volumes", strs(vols))
	}
	t.networks(w, add)
	if w.Privileged {
		add("privileged", boolean(true))
	}
	t.settings(w, tmpfs, add)
	if len(w.Labels) > 0 {
		add("labels", strDict(w.Labels))
	}
	if w.WorkingDir != "" {
		add("workdir", str(w.WorkingDir))
	}
	if w.User != "" {
		add("user", str(w.User))
	}
	if deps := t.dependsOn(w); len(deps) > 0 {
		add("depends_on", strs(deps))
	}
	t.resources(w, add)
	if w.svc != nil && !job {
		t.serviceOnly(w, add)
	} else {
		t.jobOnly(w)
	}
	if len(w.profiles) > 0 {
		add("profiles", strs(w.profiles))
	}
	t.calls = append(t.calls, c)
	return nil
}

// image declares the image() rule that builds w, and returns its name;
// "" when it cannot be built.
func (t *translator) image(w *workload, name string) (string, error) {
	b := w.Build
	if strings.Contains(b.Context, "://") || strings.HasPrefix(b.Context, "git@") {
		t.note(w.path("build", "context"), "a remote build context; ferry builds from a folder of the workspace: clone it, or give image = a built image")
		return "", nil
	}
	ruleName := name + "-image"
	c := call{path: w.path("build"), fn: "image", args: []arg{{"name", str(ruleName)}}, comment: []string{fmt.Sprintf("compose: %s.%s.build", w.kind, w.name)}}
	add := func(k string, v expr) { c.args = append(c.args, arg{k, v}) }
	repo, tag := t.p.Name+"-"+name, ""
	if w.Image != "" {
		ref, err := reference.ParseNormalizedNamed(w.Image)
		if err != nil {
			err = fmt.Errorf("%s: %s.image %q: %v", t.p.files.pos(w.path("image")), w.path(), w.Image, err)
			if len(t.p.warnings) > 0 {
				err = fmt.Errorf("%w (compose warned: %s)", err, strings.Join(t.p.warnings, "; "))
			}
			return "", err
		}
		repo = reference.FamiliarName(ref)
		if tagged, ok := ref.(reference.Tagged); ok {
			tag = tagged.Tag()
		}
	}
	add("repo", str(repo))
	ctxDir := strings.TrimPrefix(t.rel(b.Context), "./")
	add("context", str(ctxDir))
	if df := b.Dockerfile; df != "" && df != "Dockerfile" {
		if !filepath.IsAbs(df) {
			df = filepath.Join(b.Context, df)
		}
		add("dockerfile", str(strings.TrimPrefix(t.rel(df), "./")))
	}
	if b.Target != "" {
		add("target", str(b.Target))
	}
	args := dict{}
	for k, v := range b.Args {
		if v == nil {
			t.note(w.path("build", "args", k), "the build argument has no value (it was not set when the project was read); give it in build_args")
			continue
		}
		if name := t.secretRef(rawValue(t.p.raw, w.kind, w.name, "build", "args", k), k); name != "" {
			t.note(w.path("build", "args", k), fmt.Sprintf("${%s} holds a secret, which ferry does not pass as a build argument (it would stay in the image's history): give it as a build secret, image(secrets = {%q: secret(...)}), read with RUN --mount=type=secret,id=%s", name, strings.ToLower(name), strings.ToLower(name)))
			continue
		}
		args[k] = t.interpolated(rawValue(t.p.raw, w.kind, w.name, "build", "args", k), *v)
	}
	if len(args) > 0 {
		add("build_args", args)
	}
	if sec := t.secretRefs(w, b.Secrets, true); len(sec) > 0 {
		add("secrets", sec)
	}
	if len(b.CacheFrom) > 0 {
		add("cache_from", strs(t.cacheFrom(w, b.CacheFrom)))
	}
	// The project's .env holds secrets more often than not: a build
	// context that would send it leaves it out (ferry refuses to send a
	// file its secrets are read from, FERRY-IMG001).
	if env := filepath.Join(t.p.WorkingDir, ".env"); t.p.dotenv != nil {
		if r, err := filepath.Rel(b.Context, env); err == nil && !strings.HasPrefix(r, "..") {
			add("ignore", strs([]string{filepath.ToSlash(r)}))
			c.comment = append(c.comment, "The project's .env stays out of the build context: it often holds secrets.")
		}
	}
	var tags []string
	if tag != "" && tag != "latest" {
		tags = append(tags, tag)
	}
	if tags = append(tags, b.Tags...); len(tags) > 0 {
		add("tag", strs(tags))
	}
	if len(w.profiles) > 0 {
		add("profiles", strs(w.profiles))
	}
	t.calls = append(t.calls, c)
	return ruleName, nil
}

// cacheFrom returns the images of cache_from: compose takes buildx's
// "type=registry,ref=IMAGE" too, ferry image references.
func (t *translator) cacheFrom(w *workload, from []string) []string {
	var out []string
	for i, c := range from {
		if !strings.Contains(c, "=") {
			out = append(out, c)
			continue
		}
		var ref, typ string
		for _, kv := range strings.Split(c, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "ref":
				ref = v
			case "type":
				typ = v
			}
		}
		if typ != "registry" || ref == "" {
			t.note(w.path("build", "cache_from", strconv.Itoa(i)), fmt.Sprintf("%q: ferry takes images to use as cache (type=registry)", c))
			continue
		}
		out = append(out, ref)
	}
	return out
}

// secretRefs maps the ids (build) or container paths (service) of a
// workload's secrets to their Starlark variables.
func (t *translator) secretRefs(w *workload, refs []types.ServiceSecretConfig, build bool) dict {
	d := dict{}
	for i, s := range refs {
		v, ok := t.secrets[s.Source]
		p := w.path("secrets", strconv.Itoa(i))
		if build {
			p = w.path("build", "secrets", strconv.Itoa(i))
		}
		if !ok {
			t.note(p, fmt.Sprintf("secret %q has no source ferry reads (file or environment); declare it with secret() and add it by hand", s.Source))
			continue
		}
		key := cmp.Or(s.Target, s.Source)
		if !build && !strings.HasPrefix(key, "/") {
			key = "/run/secrets/" + key
		}
		d[key] = lit(v)
	}
	return d
}

func (t *translator) secretFiles(w *workload) dict { return t.secretRefs(w, w.Secrets, false) }

func (t *translator) environment(w *workload) dict {
	env := dict{}
	for _, k := range slices.Sorted(maps.Keys(w.Environment)) {
		v := w.Environment[k]
		if v == nil {
			t.note(w.path("environment", k), "no value: the variable was not set when the project was read; give it in env")
			continue
		}
		if s := t.secretVar(w, k); s != "" {
			env[k] = lit(s)
			continue
		}
		raw := rawEnv(t.p.raw, w.kind, w.name, k)
		if name := t.secretInside(raw); name != "" {
			t.note(w.path("environment", k), fmt.Sprintf("the value holds ${%s}, a secret, among other text: ferry.star would hold the secret's value, so it is left out; give the whole value as a secret (env = {%q: secret(...)}), or let the program build it from a variable that is one", name, k))
			continue
		}
		env[k] = t.interpolated(raw, *v)
	}
	return env
}

// secretVar returns the Starlark variable of a secret() for the
// environment entry k of w when its value is a whole reference to a
// variable that holds a secret ("${DB_PASSWORD}"): the value is read when
// the service starts, from the project's .env or the environment, never
// written into ferry.star. "" for any other value.
func (t *translator) secretVar(w *workload, k string) string {
	name := t.secretRef(rawEnv(t.p.raw, w.kind, w.name, k), k)
	if name == "" {
		return ""
	}
	if v, ok := t.envSecrets[name]; ok {
		return v
	}
	c := call{fn: "secret", args: []arg{{value: str(strings.ToLower(name))}}}
	if _, inDotenv := t.p.dotenv[name]; inDotenv {
		c.comment = []string{fmt.Sprintf("compose: ${%s}, from .env (read when a service starts; never written here)", name)}
		c.args = append(c.args, arg{"dotenv", str(strings.TrimPrefix(t.rel(filepath.Join(t.p.WorkingDir, ".env")), "./"))}, arg{"env", str(name)})
	} else {
		c.comment = []string{fmt.Sprintf("compose: ${%s}, from the environment (read when a service starts)", name)}
		c.args = append(c.args, arg{"env", str(name)})
	}
	c.assign = t.freeVar(strings.ToLower(name))
	t.envSecrets[name] = c.assign
	t.calls = append(t.calls, c)
	return c.assign
}

// secretRef returns the variable that raw, the value of key before
// interpolation, is a whole reference to, when the variable or the key
// names a secret; "" otherwise.
func (t *translator) secretRef(raw any, key string) string {
	s, _ := raw.(string)
	m := wholeRef.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	name := cmp.Or(m[1], m[2])
	if !secretName.MatchString(key) && !secretName.MatchString(name) {
		return ""
	}
	return name
}

var (
	// wholeRef is a value that is one variable: $X, ${X}, ${X:?message}, ${X?message}.
	wholeRef = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?::?\?[^}]*)?\})$`)
	// secretName is a variable name that holds a secret.
	secretName = regexp.MustCompile(`(?i)pass|secret|token|api_?key|private_?key|credential`)
)

// freeVar returns v, or v with a suffix when a variable has that name.
func (t *translator) freeVar(v string) string {
	v = starName(v)
	for n := 2; t.vars[v]; n++ {
		v = fmt.Sprintf("%s_%d", strings.TrimRight(v, "_0123456789"), n)
	}
	t.vars[v] = true
	return v
}

// rawValue follows keys through the raw model.
func rawValue(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func (t *translator) ports(w *workload) []string {
	if len(w.Ports) > 0 && t.internalOnly(w) {
		t.note(w.path("ports"), "the service is on internal networks only, where the Engine publishes no port (compose publishes none either); left out")
		return nil
	}
	var out []string
	for _, p := range w.Ports {
		var sb strings.Builder
		switch {
		case strings.Contains(p.HostIP, ":"):
			sb.WriteString("[" + p.HostIP + "]:")
		case p.HostIP != "":
			sb.WriteString(p.HostIP + ":")
		}
		if p.Published != "" {
			sb.WriteString(p.Published + ":")
		} else if p.HostIP != "" {
			sb.WriteString(":")
		}
		sb.WriteString(strconv.FormatUint(uint64(p.Target), 10))
		if p.Protocol != "" && p.Protocol != "tcp" {
			sb.WriteString("/" + p.Protocol)
		}
		out = append(out, sb.String())
	}
	return out
}

// volumes returns the volumes = entries of w, and its tmpfs mounts.
func (t *translator) volumes(w *workload) ([]string, []string) {
	var vols, tmpfs []string
	for i, v := range w.Volumes {
		p := w.path("volumes", strconv.Itoa(i))
		mode := ""
		if v.ReadOnly {
			mode = ":ro"
		}
		switch v.Type {
		case types.VolumeTypeBind:
			vols = append(vols, t.rel(v.Source)+":"+v.Target+mode)
		case types.VolumeTypeVolume:
			if v.Source == "" && v.ReadOnly {
				t.note(p, "a read-only anonymous volume holds nothing; left out")
				continue
			}
			if v.Source == "" {
				vols = append(vols, v.Target) // anonymous: a fresh volume for each container
				continue
			}
			vols = append(vols, t.volumeName(v.Source)+":"+v.Target+mode)
		case types.VolumeTypeTmpfs:
			var opts []string
			if v.Tmpfs != nil && v.Tmpfs.Size != 0 {
				opts = append(opts, "size="+memory(int64(v.Tmpfs.Size)))
			}
			if v.Tmpfs != nil && v.Tmpfs.Mode != 0 {
				opts = append(opts, "mode="+strconv.FormatUint(uint64(v.Tmpfs.Mode), 8))
			}
			tmpfs = append(tmpfs, strings.Join(append([]string{v.Target}, strings.Join(opts, ",")), ":"))
		default:
			t.note(p, fmt.Sprintf("a %s mount; ferry mounts named volumes, host folders and tmpfs", v.Type))
		}
	}
	for i, s := range tmpfs {
		tmpfs[i] = strings.TrimSuffix(s, ":")
	}
	return vols, tmpfs
}

func (t *translator) networks(w *workload, add func(string, expr)) {
	switch {
	case w.NetworkMode == "host" || w.NetworkMode == "none":
		add("network_mode", str(w.NetworkMode))
		return
	case w.NetworkMode != "" && w.NetworkMode != "bridge" && w.NetworkMode != "default":
		t.note(w.path("network_mode"), fmt.Sprintf("network_mode %q: ferry takes host, none, or the project's network", w.NetworkMode))
	}
	if len(w.Networks) == 0 {
		return
	}
	var nets []string
	aliases := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(w.Networks)) {
		name := t.networkName(k)
		if n := w.Networks[k]; n != nil && len(n.Aliases) > 0 {
			aliases[name] = n.Aliases
		}
		if k != "default" {
			nets = append(nets, name)
		}
	}
	switch {
	case len(aliases) == 0 && len(nets) > 0:
		add("networks", strs(nets))
	case len(aliases) > 0:
		d := dict{}
		for _, n := range nets {
			d[n] = lit("None")
		}
		for n, a := range aliases {
			d[n] = dict{"aliases": strs(a)}
		}
		add("networks", d)
	}
	if _, onDefault := w.Networks["default"]; !onDefault {
		// compose leaves a service that lists its networks off the default one.
		add("default_network", boolean(false))
	}
}

// internalOnly says whether w is on internal networks only, where the
// Engine publishes no port.
func (t *translator) internalOnly(w *workload) bool {
	if _, onDefault := w.Networks["default"]; onDefault || len(w.Networks) == 0 || w.NetworkMode != "" {
		return false
	}
	for k := range w.Networks {
		if n, ok := t.p.Networks[k]; !ok || !n.Internal || bool(n.External) {
			return false
		}
	}
	return true
}

func (t *translator) settings(w *workload, tmpfs []string, add func(string, expr)) {
	if len(w.CapAdd) > 0 {
		add("cap_add", strs(w.CapAdd))
	}
	if len(w.CapDrop) > 0 {
		add("cap_drop", strs(w.CapDrop))
	}
	if w.ReadOnly {
		add("read_only", boolean(true))
	}
	if len(w.SecurityOpt) > 0 {
		add("security_opt", strs(w.SecurityOpt))
	}
	if all := append(slices.Clone([]string(w.Tmpfs)), tmpfs...); len(all) > 0 {
		add("tmpfs", strs(all))
	}
	if w.Init != nil && *w.Init {
		add("init", boolean(true))
	}
	if w.StopSignal != "" {
		add("stop_signal", str(w.StopSignal))
	}
	if w.StopGracePeriod != nil {
		add("stop_grace_period", str(duration(*w.StopGracePeriod)))
	}
	if len(w.ExtraHosts) > 0 {
		var hosts []string
		for _, h := range slices.Sorted(maps.Keys(w.ExtraHosts)) {
			for _, ip := range w.ExtraHosts[h] {
				hosts = append(hosts, h+":"+ip)
			}
		}
		add("extra_hosts", strs(hosts))
	}
	if len(w.DNS) > 0 {
		add("dns", strs(w.DNS))
	}
	if w.Hostname != "" {
		add("hostname", str(w.Hostname))
	}
	if w.ShmSize != 0 {
		add("shm_size", str(memory(int64(w.ShmSize))))
	}
	if len(w.Ulimits) > 0 {
		d := dict{}
		for k, u := range w.Ulimits {
			if u.Single != 0 {
				d[k] = integer(u.Single)
			} else {
				d[k] = str(fmt.Sprintf("%d:%d", u.Soft, u.Hard))
			}
		}
		add("ulimits", d)
	}
	if len(w.Sysctls) > 0 {
		add("sysctls", strDict(w.Sysctls))
	}
	if len(w.Devices) > 0 {
		var devs []string
		for _, d := range w.Devices {
			s := d.Source + ":" + cmp.Or(d.Target, d.Source)
			if d.Permissions != "" && d.Permissions != "rwm" {
				s += ":" + d.Permissions
			}
			devs = append(devs, s)
		}
		add("devices", strs(devs))
	}
}

func (t *translator) dependsOn(w *workload) []string {
	var deps []string
	for _, d := range slices.Sorted(maps.Keys(w.DependsOn)) {
		_, svc := t.p.Services[d]
		_, job := t.p.Jobs[d]
		if !svc && !job {
			t.note(w.path("depends_on", d), fmt.Sprintf("%q is no service of the project (required: false); left out", d))
			continue
		}
		if !w.DependsOn[d].Required {
			t.note(w.path("depends_on", d, "required"), "ferry waits for every service in depends_on, as if required: true")
		}
		deps = append(deps, t.ruleName(d))
	}
	return deps
}

func (t *translator) resources(w *workload, add func(string, expr)) {
	res := dict{}
	mem, cpus := int64(w.MemLimit), float64(w.CPUS)
	if w.svc != nil && w.svc.Deploy != nil && w.svc.Deploy.Resources.Limits != nil {
		l := w.svc.Deploy.Resources.Limits
		mem = cmp.Or(int64(l.MemoryBytes), mem)
		cpus = cmp.Or(float64(l.NanoCPUs), cpus)
	}
	if mem != 0 {
		res["memory"] = str(memory(mem))
	}
	if cpus != 0 {
		res["cpus"] = lit(strconv.FormatFloat(cpus, 'g', 4, 32))
	}
	if len(res) > 0 {
		add("resources", res)
	}
}

// serviceOnly adds what service() takes and job() does not.
func (t *translator) serviceOnly(w *workload, add func(string, expr)) {
	s := w.svc
	if n := s.GetScale(); n != 1 {
		add("replicas", integer(n))
	}
	restart := s.Restart
	if d := s.Deploy; d != nil && d.RestartPolicy != nil && restart == "" {
		switch d.RestartPolicy.Condition {
		case "none":
			restart = "no"
		case "any":
			restart = "always"
		case "on-failure":
			restart = "on-failure"
			if n := d.RestartPolicy.MaxAttempts; n != nil && *n > 0 {
				restart += ":" + strconv.FormatUint(*n, 10)
			}
		}
	}
	if restart != "" {
		add("restart", str(restart))
	}
	if h := t.health(w); h != nil {
		add("health", h)
	}
	if d := s.Deploy; d != nil && d.UpdateConfig != nil {
		u := dict{}
		if d.UpdateConfig.Order != "" {
			u["order"] = str(d.UpdateConfig.Order)
		}
		if p := d.UpdateConfig.Parallelism; p != nil && *p > 0 {
			u["parallelism"] = integer(*p)
		}
		if len(u) > 0 {
			add("update", u)
		}
	}
}

// jobOnly reports what a job cannot have.
func (t *translator) jobOnly(w *workload) {
	if w.HealthCheck != nil && len(w.HealthCheck.Test) > 0 {
		t.note(w.path("healthcheck"), "a job runs to completion: ferry waits for it to exit with 0, not for a health check")
	}
	if s := w.svc; s != nil {
		if s.GetScale() != 1 {
			t.note(w.path("deploy", "replicas"), "a job runs once")
		}
		if s.Restart != "" && s.Restart != "no" {
			t.note(w.path("restart"), "a job is not restarted: ferry runs it again when its definition or image changes")
		}
	}
}

func (t *translator) health(w *workload) expr {
	h := w.HealthCheck
	if h == nil {
		return nil
	}
	if h.Disable || len(h.Test) > 0 && h.Test[0] == "NONE" {
		return fnCall{fn: "health.disable"}
	}
	if len(h.Test) == 0 {
		return nil
	}
	var cmdArg arg
	switch h.Test[0] {
	case "CMD":
		cmdArg = arg{value: strs(h.Test[1:])}
	case "CMD-SHELL":
		cmdArg = arg{value: str(strings.Join(h.Test[1:], " "))}
	default:
		t.note(w.path("healthcheck", "test"), fmt.Sprintf("test starts with %q; want CMD, CMD-SHELL or NONE", h.Test[0]))
		return nil
	}
	c := fnCall{fn: "health.exec", args: []arg{cmdArg}}
	for _, d := range []struct {
		name string
		v    *types.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}} {
		if d.v != nil {
			c.args = append(c.args, arg{d.name, str(duration(*d.v))})
		}
	}
	if h.Retries != nil {
		c.args = append(c.args, arg{"retries", integer(*h.Retries)})
	}
	if h.StartInterval != nil {
		if h.StartPeriod != nil && *h.StartPeriod > 0 {
			c.args = append(c.args, arg{"start_interval", str(duration(*h.StartInterval))})
		} else {
			t.note(w.path("healthcheck", "start_interval"), "start_interval applies during the start period, and the check has none (start_period is 0s): left out; give start_period to probe more often while the service starts")
		}
	}
	return c
}

// memory writes a size as ferry takes it: 512m, 1g, or bytes.
func memory(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func duration(d types.Duration) string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Compose interpolates a variable that names a secret (${DB_PASSWORD})
// anywhere: in a command, a label, a health check, a config's content. The
// project is read with a marker in place of each such value, and an
// argument of ferry.star that would hold one is left out, with a finding:
// a secret's value is never written into ferry.star, which is committed.
// (Environment values that are one such reference become secret()s.)
const (
	markerOpen  = "⟪ferry-secret:"
	markerClose = "⟫"
)

var secretMarkerRE = regexp.MustCompile(regexp.QuoteMeta(markerOpen) + `([A-Za-z0-9_]+)` + regexp.QuoteMeta(markerClose))

func secretMarker(name string) string { return markerOpen + name + markerClose }

// maskSecretLookup makes compose interpolate a set variable that names a
// secret as its marker.
func maskSecretLookup(o *loader.Options) {
	if o.Interpolate == nil || o.Interpolate.LookupValue == nil {
		return
	}
	lookup := o.Interpolate.LookupValue
	o.Interpolate.LookupValue = func(name string) (string, bool) {
		v, ok := lookup(name)
		if ok && v != "" && secretName.MatchString(name) {
			return secretMarker(name), true
		}
		return v, ok
	}
}

// leaveOutSecrets removes the arguments that hold a secret's marker, and
// writes the markers of findings as the ${VAR} they stand for.
func (t *translator) leaveOutSecrets() {
	for i := range t.calls {
		c := &t.calls[i]
		kept := c.args[:0]
		for _, a := range c.args {
			m := secretMarkerRE.FindStringSubmatch(a.value.inline())
			if m == nil {
				kept = append(kept, a)
				continue
			}
			t.note(c.path, fmt.Sprintf("%s holds ${%s}, a secret: ferry.star would hold its value, so %s is left out; give the value with secret() (env, secret_files) or write %s by hand", a.name, m[1], a.name, a.name))
		}
		c.args = kept
	}
	for i := range t.findings {
		t.findings[i].Why = secretMarkerRE.ReplaceAllString(t.findings[i].Why, "$${$1}")
	}
}

// shellPath writes the path p as one word of a shell command, quoted, so
// that a compose file's path runs nothing however it is spelled; a leading
// ~/ stays outside the quotes, for the shell to expand.
func shellPath(p string) string {
	home := ""
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, p = "~/", rest
	}
	if p != "" && !strings.ContainsFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/+=:@,", r))
	}) {
		return home + p
	}
	return home + "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
