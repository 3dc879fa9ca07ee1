package seccheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/starlint"
)

// An ImageRule is what the checks need of an image() rule: the
// repository it builds and how it builds it.
type ImageRule interface {
	engine.Rule
	Repo() string
	// DockerfileSpec returns the workspace-relative Dockerfile, the build
	// arguments and the target stage ("" for the last).
	DockerfileSpec() (dockerfile string, buildArgs map[string]string, target string)
	// SecretFilesSent returns the files holding a secret's value in clear
	// that the build context sends, after .dockerignore and ignore =.
	SecretFilesSent(ctx context.Context) ([]engine.SecretFile, error)
	// SSH lists the ids of the SSH agents or keys the build forwards.
	SSH() []string
}

// Options say what Check looks at.
type Options struct {
	Root    string        // the workspace folder
	Rules   []engine.Rule // the rules ferry.star declares
	History bool          // scan the git history as well as the files
	Ignore  []string      // rule ids to leave out

	// Eval is the evaluation that declared Rules: the git commands of
	// the history scan get its Environ.
	Eval *engine.Evaluation

	// Starlark runs the Starlark lint on every .star file of the
	// workspace, against Builtins, the builtins the files see.
	Starlark bool
	Builtins []*engine.Builtin
	// ModuleDeps says which shared modules a .star file may load (see
	// starlint.Checker.Deps); nil leaves those loads unchecked.
	ModuleDeps func(file string) *starlint.Deps

	// Environments are the environments ferry.star declares, and Env the
	// one selected with --env ("" for none): the Kubernetes rules check the
	// services and jobs when Env deploys to Kubernetes or, with none
	// selected, when any environment does.
	Environments []*deploy.Environment
	Env          string
}

// OptionsFor returns the Options that check the workspace at root as the
// evaluation res declared it, leaving out the rule ids that
// lint_settings(ignore =) names.
func OptionsFor(root string, res *engine.Result) Options {
	return Options{Root: root, Rules: res.Rules, Eval: res.Eval, Ignore: engine.EvaluationState[*Settings](res.Eval).Ignore(), Builtins: res.Eval.Builtins(),
		Environments: engine.EvaluationState[*deploy.Environments](res.Eval).All()}
}

// A Report is what Check found.
type Report struct {
	Findings []Finding `json:"findings"`
	// Notes say what was not checked, and what the secret scan read.
	Notes []string `json:"notes,omitempty"`
}

// WritePlanChecks runs the checks that `ferry plan --check` shows on the
// workspace at root, as res declared it, deploying to environment env:
// those of the files, not of the git history (which `ferry lint` scans).
// It writes their errors and warnings (see Report.WriteProblems), or a
// line saying why the checks could not run: they never fail the plan.
func WritePlanChecks(ctx context.Context, w io.Writer, root string, res *engine.Result, env string) {
	o := OptionsFor(root, res)
	o.Env = env
	rep, err := Check(ctx, o)
	if err != nil {
		fmt.Fprintf(w, "security checks: %v\n", err)
		return
	}
	rep.WriteProblems(w)
}

// Check runs every check on the workspace: the Dockerfile of each image
// rule, each service and job, and the secret scan of the files (and of the
// git history when o.History). Findings of ignored rules are left out.
func Check(ctx context.Context, o Options) (*Report, error) {
	for _, id := range o.Ignore {
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("--ignore: %w", err)
		}
	}
	r := &Report{Findings: []Finding{}}
	if err := checkRules(ctx, o.Root, o.Rules, kubernetesEnvs(o.Environments, o.Env), r); err != nil {
		return nil, err
	}
	if err := scanSecrets(ctx, o, r); err != nil {
		return nil, err
	}
	tracked, err := checkTrackedState(ctx, o.Root)
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, tracked...)
	if o.Starlark {
		found, err := lintStarlark(o.Root, o.Builtins, o.ModuleDeps)
		if err != nil {
			return nil, err
		}
		r.Findings = append(r.Findings, found...)
	}
	r.Findings = slices.DeleteFunc(r.Findings, func(f Finding) bool { return slices.Contains(o.Ignore, f.Rule) })
	Sort(r.Findings)
	return r, nil
}

// checkRules runs the Dockerfile, image and service rules, and the
// Kubernetes rules on the services and jobs when kube names environments
// that deploy them to a cluster.
func checkRules(ctx context.Context, root string, rules []engine.Rule, kube []string, r *Report) error {
	var images []ImageRule
	var runners []*deploy.Rule
	local := map[string]bool{}
	for _, rule := range rules {
		switch rule := rule.(type) {
		case ImageRule:
			images = append(images, rule)
			local[rule.Repo()] = true
		case *deploy.Rule:
			runners = append(runners, rule)
			fs, err := checkService(ctx, root, rule)
			if err != nil {
				return err
			}
			r.Findings = append(r.Findings, fs...)
			if len(kube) > 0 {
				if fs, err = checkKubernetes(root, rule, kube); err != nil {
					return err
				}
				r.Findings = append(r.Findings, fs...)
			}
		}
	}
	tree := engine.NewTree(root)
	defer tree.Close()
	for _, img := range images {
		file, args, target := img.DockerfileSpec()
		src, err := tree.ReadFile(file) // a link out of the workspace is refused
		if err != nil {
			return fmt.Errorf("%s: image %q: %w; fix dockerfile =", ruleFile(root, img.Info()), img.Info().Name, err)
		}
		d := Dockerfile{Path: file, Src: src, BuildArgs: args, Target: target, LocalRepos: local}
		d.RunAsSet, d.HealthSet = uses(img.Info().Name, runners)
		fs, err := CheckDockerfile(d)
		if err != nil {
			return err
		}
		r.Findings = append(r.Findings, fs...)
		if fs, err = checkSecretFiles(ctx, root, img); err != nil {
			return err
		}
		r.Findings = append(r.Findings, fs...)
		if f, err := checkSSH(root, img); err != nil {
			return err
		} else if f != nil {
			r.Findings = append(r.Findings, *f)
		}
	}
	return nil
}

// checkSSH reports an image whose build forwards SSH agents or keys: every
// RUN --mount=type=ssh of its Dockerfile, or of a base it builds on, can
// sign with them, and a ferry.star from a pull request could so reach what
// the runner's keys open.
func checkSSH(root string, img ImageRule) (*Finding, error) {
	ids := img.SSH()
	if len(ids) == 0 {
		return nil, nil
	}
	info := img.Info()
	file := ruleFile(root, info)
	lines, err := sourceLines(root, file)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", info.Name, err)
	}
	const id = "FERRY-IMG002"
	if ignoredAt(lines, int(info.Pos.Line), id) {
		return nil, nil
	}
	f := finding(id, file, int(info.Pos.Line), fmt.Sprintf("image %q forwards SSH credentials into its build (ssh = %s): any RUN --mount=type=ssh in it can use them, to reach whatever they open",
		info.Name, strings.Join(ids, ", ")))
	f.Col = int(info.Pos.Col)
	return &f, nil
}

// checkSecretFiles reports the files holding a secret's value that the
// build context of img sends, each at the secret() call that reads it.
// It reads the paths only, never a secret's value.
func checkSecretFiles(ctx context.Context, root string, img ImageRule) ([]Finding, error) {
	files, err := img.SecretFilesSent(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: image %q: %w", ruleFile(root, img.Info()), img.Info().Name, err)
	}
	var out []Finding
	lines := map[string][]string{} // of the files declaring the secrets
	for _, sf := range files {
		file := posFile(root, sf.Pos)
		if _, ok := lines[file]; !ok {
			l, err := sourceLines(root, file)
			if err != nil {
				return nil, fmt.Errorf("secret %q: %w", sf.Secret, err)
			}
			lines[file] = l
		}
		const id = "FERRY-IMG001"
		if ignoredAt(lines[file], int(sf.Pos.Line), id) {
			continue
		}
		f := finding(id, file, int(sf.Pos.Line), fmt.Sprintf("secret %q is read from %s, which the build context of image %q sends: the image's layers would keep its value for anyone who can pull the image",
			sf.Secret, sf.Path, img.Info().Name))
		f.Col = int(sf.Pos.Col)
		out = append(out, f)
	}
	return out, nil
}

// uses reports whether the services and jobs that run image all set a
// non-root user (and there is one), and whether the services all declare a
// health check (true as well when only jobs run it: a job needs none).
func uses(image string, runners []*deploy.Rule) (runAs, health bool) {
	n, services := 0, 0
	runAs, health = true, true
	for _, r := range runners {
		s := r.Spec()
		if s.Image != image {
			continue
		}
		n++
		if s.User == "" || isRoot(s.User) {
			runAs = false
		}
		if !r.IsJob() {
			services++
			if s.Health == nil {
				health = false
			}
		}
	}
	return runAs && n > 0, health && n > 0
}

// dbPorts are the container ports of well-known databases and caches.
var dbPorts = map[int]string{
	5432: "PostgreSQL", 3306: "MySQL", 27017: "MongoDB", 6379: "Redis", 9200: "Elasticsearch",
	1433: "SQL Server", 5984: "CouchDB", 11211: "memcached", 9042: "Cassandra", 8086: "InfluxDB",
}

// checkService runs the service rules on a service or job, positioned at
// its call in ferry.star.
func checkService(ctx context.Context, root string, rule *deploy.Rule) ([]Finding, error) {
	info := rule.Info()
	file := ruleFile(root, info)
	lines, err := sourceLines(root, file)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
	}
	line := int(info.Pos.Line)
	var out []Finding
	// add returns the finding it added, for a fix that names the value
	// at fault, or nil when a comment ignores it.
	add := func(id, msg string) *Finding {
		if ignoredAt(lines, line, id) {
			return nil
		}
		f := finding(id, file, line, fmt.Sprintf("%s %q: %s", info.Kind, info.Name, msg))
		f.Col = int(info.Pos.Col)
		out = append(out, f)
		return &out[len(out)-1]
	}
	s := rule.Spec()
	if s.NetworkMode == "host" {
		add("FERRY-SV001", "network_mode = \"host\": it shares the host's network stack and every port on it")
	}
	for _, n := range s.Networks {
		if n == "host" && s.External[n] {
			add("FERRY-SV001", "joins the host network: it shares the host's network stack and every port on it")
		}
	}
	if s.Privileged {
		add("FERRY-SV005", "privileged = True: the container gets every capability and host device, with no seccomp or AppArmor confinement, which is root on the host")
	}
	for _, c := range s.CapAdd {
		if why, ok := powerfulCaps[c]; ok {
			add("FERRY-SV008", fmt.Sprintf("cap_add %s: %s", c, why))
		}
	}
	for _, o := range s.SecurityOpt {
		if unconfined(o) {
			add("FERRY-SV009", fmt.Sprintf("security_opt %q turns off a confinement Docker applies to every container", o))
		}
	}
	if gaps := hardeningGaps(s); !rule.IsJob() && !s.Privileged && gaps != "" {
		add("FERRY-SV010", gaps)
	}
	for _, v := range s.Volumes {
		if !v.Bind {
			continue
		}
		if engineSocket(v.Source) {
			add("FERRY-SV002", fmt.Sprintf("mounts %s at %s: the container can start privileged containers, which is root on the host", v.Source, v.Target))
		}
		if what := credentials(v.Source); what != "" {
			add("FERRY-SV007", fmt.Sprintf("mounts %s at %s: %s", v.Source, v.Target, what))
		}
	}
	for _, p := range s.Ports {
		if db, ok := dbPorts[p.Container]; ok && p.Everywhere() {
			f := add("FERRY-SV003", fmt.Sprintf("publishes %s port %d on every interface (%s): anyone who reaches the host reaches the database", db, p.Container, p.String()))
			if f != nil {
				f.Fix = loopbackFix(loopback(p))
			}
		}
	}
	for _, f := range s.EnvFiles {
		names := secretVars(f.Vars)
		if len(names) == 0 {
			continue
		}
		if tracked, err := notIgnored(ctx, root, f.Path); err != nil {
			return nil, err
		} else if tracked {
			add("FERRY-SV011", fmt.Sprintf("env_file %s sets %s in clear, and git does not ignore the file, so the value lands in the repository and its history", f.Path, strings.Join(names, ", ")))
		}
	}
	if isRoot(s.User) {
		add("FERRY-SV004", fmt.Sprintf("user = %q runs the container as root", s.User))
	}
	if rule.PullsImage() {
		if why := unpinned(s.Image); why != "" {
			add("FERRY-SV006", fmt.Sprintf("image %q %s: what it runs changes whenever the tag moves", s.Image, why))
		}
	}
	return out, nil
}

// secretVars lists, sorted, the variables of vars that look like
// credentials: a credential's name with a value that is no placeholder
// and no file's path (POSTGRES_PASSWORD_FILE=/run/secrets/db).
func secretVars(vars map[string]string) []string {
	var out []string
	for k, v := range vars {
		if secretName(k) && v != "" && notPlaceholder(v) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// notIgnored reports whether git would take the workspace file rel into
// the repository at root: it is tracked, or no ignore rule covers it.
// Outside a git repository it reports false.
func notIgnored(ctx context.Context, root, rel string) (bool, error) {
	if !isGitRepo(ctx, root, nil) {
		return false, nil
	}
	err := exec.CommandContext(ctx, "git", "-C", root, "check-ignore", "-q", "--", rel).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return true, nil
	}
	return false, fmt.Errorf("git check-ignore %s in %s: %w", rel, root, err)
}

// powerfulCaps are the capabilities that let a container reach beyond
// itself, and why.
var powerfulCaps = map[string]string{
	"ALL":             "every capability, close to privileged = True",
	"SYS_ADMIN":       "mount, namespaces and much more: the usual way out of a container onto the host",
	"SYS_MODULE":      "loads kernel modules, which is the host's kernel",
	"SYS_PTRACE":      "traces and injects code into processes, and reads their memory",
	"SYS_RAWIO":       "raw access to I/O ports and devices",
	"SYS_BOOT":        "reboots the host",
	"SYS_TIME":        "sets the host's clock",
	"DAC_READ_SEARCH": "reads any file by handle, which has escaped containers (shocker)",
	"MAC_ADMIN":       "changes the mandatory access control (AppArmor, SELinux) policy",
	"MAC_OVERRIDE":    "overrides mandatory access control",
	"BPF":             "loads BPF programs into the host's kernel",
	"NET_ADMIN":       "reconfigures the network its container is on (interfaces, routes, firewall), and sniffs it with NET_RAW",
}

// unconfined reports whether a security_opt turns off seccomp, AppArmor
// or SELinux, or the masking of /proc and /sys.
func unconfined(o string) bool {
	switch strings.ReplaceAll(o, ":", "=") {
	case "seccomp=unconfined", "apparmor=unconfined", "label=disable", "systempaths=unconfined":
		return true
	}
	return false
}

// hardeningGaps says what a service that has begun to harden its
// container (cap_add, cap_drop, read_only or security_opt set) leaves at
// Docker's defaults of read_only and cap_drop; "" when it sets both, or
// none of them: every plain service would be flagged otherwise, which
// would bury the findings that matter.
func hardeningGaps(s *deploy.ServiceSpec) string {
	if len(s.CapAdd) == 0 && len(s.CapDrop) == 0 && !s.ReadOnly && len(s.SecurityOpt) == 0 {
		return ""
	}
	var gaps []string
	if !s.ReadOnly {
		gaps = append(gaps, "its root filesystem is writable (read_only = False)")
	}
	if !slices.Contains(s.CapDrop, "ALL") {
		gaps = append(gaps, "it keeps Docker's default capabilities (no cap_drop = [\"ALL\"])")
	}
	return strings.Join(gaps, ", and ")
}

// unpinned says how the registry image ref is not pinned to a version:
// "is on the tag latest" or "has no tag"; "" when it names a version tag
// or a digest.
func unpinned(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	if _, ok := named.(reference.Digested); ok {
		return ""
	}
	if t, ok := named.(reference.Tagged); ok {
		if t.Tag() == "latest" {
			return "is on the tag latest"
		}
		return ""
	}
	return "has no tag (so it is latest)"
}

// engineSocket reports whether a bind mount of the host path src hands
// the container a container engine's socket: docker.sock wherever it is
// (/run/user/1000/docker.sock for rootless Docker), containerd's or
// Podman's, or a folder that holds the usual one.
func engineSocket(src string) bool {
	p := path.Clean(src)
	switch p {
	case "/", "/run", "/var", "/var/run":
		return true
	}
	switch path.Base(p) {
	case "docker.sock", "containerd.sock", "podman.sock":
		return true
	}
	return false
}

// credentialFolders are the folders and files, by base name, where tools
// keep a user's credentials.
var credentialFolders = map[string]bool{
	".ssh": true, ".docker": true, ".aws": true, ".kube": true, ".gnupg": true, ".azure": true,
	".netrc": true, ".pgpass": true, ".git-credentials": true, "gcloud": true,
}

// credentials says what a bind mount of the host path src hands the
// container, when that is a home folder (which holds the user's keys and
// tokens) or a folder of credentials; "" otherwise.
func credentials(src string) string {
	p := path.Clean(src)
	dir, base := path.Split(p)
	switch {
	case p == "~" || p == "/root" || (dir == "/home/" || dir == "/Users/") && base != "":
		return "a home folder, with the keys and tokens in it (~/.ssh, ~/.docker/config.json, cloud credentials)"
	case credentialFolders[base]:
		return "credentials, which the container can read and use"
	}
	return ""
}

// loopback returns p as a ports = entry that publishes it on loopback
// only, of the same address family (127.0.0.1, or [::1] for one published
// on ::), keeping its host port (or none, for a free one) and protocol.
func loopback(p deploy.Port) string {
	if ip, err := netip.ParseAddr(p.HostIP); err == nil && ip.Is6() {
		return p.On("::1")
	}
	return p.On(deploy.LoopbackIP)
}

// loopbackFix is the fix of FERRY-SV003 for the ports = entry port.
func loopbackFix(port string) string {
	return fmt.Sprintf("publish it on loopback only (%q), or not at all: services reach it by name on the project network", port)
}

// ruleFile returns the workspace-relative file that declares a rule.
func ruleFile(root string, info *engine.RuleInfo) string { return posFile(root, info.Pos) }

// sourceLines returns the lines of file, a workspace-relative file that
// declares a rule, for its ferry:ignore comments; none for a file of a
// shared module (@lib//m.star), which is not in the workspace: a module's
// comments never silence a finding of the workspace it is loaded into.
func sourceLines(root, file string) ([]string, error) {
	if strings.HasPrefix(file, "@") {
		return nil, nil
	}
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	return strings.Split(string(src), "\n"), nil
}

// posFile returns the workspace-relative file of a position in ferry.star
// or a file it loads.
func posFile(root string, pos syntax.Position) string {
	f := pos.Filename()
	if filepath.IsAbs(f) {
		if rel, err := filepath.Rel(root, f); err == nil {
			f = rel
		}
	}
	return filepath.ToSlash(strings.TrimPrefix(f, "//"))
}

// scanSecrets runs the secret scan, and the history scan when asked. A
// secret still in the files is reported there only; one found in several
// commits is reported at the oldest.
func scanSecrets(ctx context.Context, o Options, r *Report) error {
	ws, err := scanWorkspace(ctx, o.Root)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, h := range ws.hits {
		seen[h.Rule+"\x00"+h.secret] = true
		r.Findings = append(r.Findings, h.Finding)
	}
	note := fmt.Sprintf("secret scan: %d files", ws.files)
	if o.History {
		old, commits, err := scanHistory(ctx, o.Root, o.Eval.Environ(nil))
		switch {
		case errors.Is(err, errNotGit):
			note += "; not in a git repository, so no history scanned"
		case err != nil:
			return err
		default:
			note += fmt.Sprintf(", %d commits of git history", commits)
			oldest := map[string]Finding{}
			var order []string
			for _, h := range old { // newest commit first
				k := h.Rule + "\x00" + h.secret
				if seen[k] {
					continue
				}
				if _, ok := oldest[k]; !ok {
					order = append(order, k)
				}
				oldest[k] = h.Finding
			}
			for _, k := range order {
				f := oldest[k]
				f.Message += " (in git history: still readable after it was removed)"
				r.Findings = append(r.Findings, f)
			}
		}
	}
	r.Notes = append(r.Notes, note)
	if n := len(ws.unreadable); n > 0 {
		const most = 5
		list := strings.Join(ws.unreadable[:min(n, most)], ", ")
		if n > most {
			list += fmt.Sprintf(" and %d more", n-most)
		}
		r.Notes = append(r.Notes, fmt.Sprintf("secret scan: could not read %d files or folders, so they were not checked: %s; give the user running ferry read access, or list them in .gitignore", n, list))
	}
	return nil
}
