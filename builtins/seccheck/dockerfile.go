package seccheck

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/ferryhq/ferry/builtins/dockerfile"
)

// A Dockerfile is one image's Dockerfile and what is known of how it runs.
type Dockerfile struct {
	Path      string // workspace-relative, for findings
	Src       []byte
	BuildArgs map[string]string
	Target    string // the last stage built; "" for the last one
	// LocalRepos are repositories built by image rules of the workspace:
	// a FROM naming one needs no digest.
	LocalRepos map[string]bool
	// RunAsSet is true when services run the image and every one of them
	// sets a non-root user =; HealthSet when every one declares health =.
	RunAsSet, HealthSet bool
}

// CheckDockerfile returns the findings of rules FERRY-DF001 to DF005 in d,
// or an error when d does not parse.
func CheckDockerfile(d Dockerfile) ([]Finding, error) {
	f, err := dockerfile.Parse(d.Src, d.BuildArgs)
	if err != nil {
		return nil, fmt.Errorf("%s: %v; fix the Dockerfile", d.Path, err)
	}
	if len(f.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction; a Dockerfile starts with FROM", d.Path)
	}
	last, ok := f.Last(d.Target)
	if !ok {
		return nil, fmt.Errorf("%s: no stage named %q; fix target =", d.Path, d.Target)
	}
	c := &dfCheck{d: d, lines: strings.Split(string(d.Src), "\n"), f: f, stages: f.Stages[:last+1]}
	for _, a := range f.MetaArgs {
		c.args(&a)
	}
	for i := range c.stages {
		if err := c.stage(i); err != nil {
			return nil, err
		}
	}
	c.runAs(last)
	c.health(last)
	return c.out, nil
}

type dfCheck struct {
	d      Dockerfile
	lines  []string
	f      *dockerfile.File
	stages []instructions.Stage // up to the last one built
	out    []Finding
}

func (c *dfCheck) add(id string, loc []parser.Range, msg string) {
	line := dockerfile.Line(loc)
	if ignoredAt(c.lines, line, id) {
		return
	}
	c.out = append(c.out, finding(id, c.d.Path, line, msg))
}

// base returns the image stage i builds on, after ARG substitution.
func (c *dfCheck) base(i int) string {
	name, err := c.f.Base(i)
	if err != nil {
		return c.stages[i].BaseName
	}
	return name
}

// stage checks stage i, or returns an error when it cannot be built.
func (c *dfCheck) stage(i int) error {
	st := c.stages[i]
	if b := c.base(i); c.f.StageIndex(b, i) < 0 {
		c.pinned(b, st.Location)
	}
	for _, cmd := range st.Commands {
		switch cmd := cmd.(type) {
		case *instructions.AddCommand:
			for _, src := range cmd.SourcePaths {
				if msg := unpinnedAdd(src, cmd.Checksum); msg != "" {
					c.add("FERRY-DF003", cmd.Location(), msg)
				}
			}
		case *instructions.CopyCommand:
			if err := c.f.CheckCopyFrom(cmd); err != nil {
				return fmt.Errorf("%s:%d: %w", c.d.Path, dockerfile.Line(cmd.Location()), err)
			}
			c.from(cmd.From, i, cmd.Location())
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(cmd) {
				c.from(m.From, i, cmd.Location())
			}
		case *instructions.EnvCommand:
			for _, kv := range cmd.Env {
				if secretName(kv.Key) && kv.Value != "" && !isSwitch(kv.Value) {
					c.add("FERRY-DF004", cmd.Location(), fmt.Sprintf("ENV %s bakes a secret-looking value into the image", kv.Key))
				}
			}
		case *instructions.ArgCommand:
			c.args(cmd)
		}
	}
	return nil
}

func (c *dfCheck) args(cmd *instructions.ArgCommand) {
	for _, kv := range cmd.Args {
		if secretName(kv.Key) {
			c.add("FERRY-DF004", cmd.Location(), fmt.Sprintf("ARG %s: build arguments are kept in the image's history", kv.Key))
		}
	}
}

// from checks ref, what COPY --from= or RUN --mount=from= in stage i
// names: an image, unless it is "" or names an earlier stage.
func (c *dfCheck) from(ref string, i int, loc []parser.Range) {
	if ref != "" && c.f.StageIndex(ref, i) < 0 {
		c.pinned(ref, loc)
	}
}

// pinned reports FERRY-DF002 when ref, an image from outside the
// Dockerfile, carries no digest.
func (c *dfCheck) pinned(ref string, loc []parser.Range) {
	switch {
	case ref == "scratch", strings.Contains(ref, "@sha256:"), strings.HasPrefix(ref, "sha256:"):
		return
	}
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	if c.d.LocalRepos[name] {
		return
	}
	c.add("FERRY-DF002", loc, fmt.Sprintf("%s is not pinned by digest", ref))
}

// runAs reports FERRY-DF001 when the final stage, last, runs as root: its
// USER (or that of the stages it builds on) is root, or there is none.
func (c *dfCheck) runAs(last int) {
	if c.d.RunAsSet {
		return
	}
	for i := last; ; {
		st := c.stages[i]
		for j := len(st.Commands) - 1; j >= 0; j-- {
			if u, ok := st.Commands[j].(*instructions.UserCommand); ok {
				if isRoot(u.User) {
					c.add("FERRY-DF001", u.Location(), fmt.Sprintf("USER %s: the container runs as root", u.User))
				}
				return
			}
		}
		b := c.base(i)
		if p := c.f.StageIndex(b, i); p >= 0 {
			i = p
			continue
		}
		msg := "no USER: the container runs as root"
		if b != "scratch" {
			msg = fmt.Sprintf("no USER: the container runs as root unless %s sets a user", b)
		}
		c.add("FERRY-DF001", c.stages[last].Location, msg)
		return
	}
}

// health reports FERRY-DF005 when the services do not declare health =
// and the image has no health check: the last HEALTHCHECK of the final
// stage, or else of the stages it builds on, is missing or NONE (which
// turns off one it would inherit).
func (c *dfCheck) health(last int) {
	if c.d.HealthSet || c.healthCheck(last) {
		return
	}
	c.add("FERRY-DF005", c.stages[last].Location, "no HEALTHCHECK, and not every service running the image declares health =")
}

// healthCheck reports whether stage i, or a stage it builds on, ends with a
// HEALTHCHECK other than NONE.
func (c *dfCheck) healthCheck(i int) bool {
	for {
		st := c.stages[i]
		for j := len(st.Commands) - 1; j >= 0; j-- {
			if h, ok := st.Commands[j].(*instructions.HealthCheckCommand); ok {
				return h.Health != nil && len(h.Health.Test) > 0 && h.Health.Test[0] != "NONE"
			}
		}
		p := c.f.StageIndex(c.base(i), i)
		if p < 0 {
			return false
		}
		i = p
	}
}

// unpinnedAdd returns what is wrong with ADD src, given the instruction's
// --checksum, when src is fetched at build time with nothing to pin what
// arrives, or "" when src is local or pinned. A git source (a repository
// URL ending in .git, git@host:repo, ssh:// or git://) is pinned by a
// --checksum, a ?checksum= or ?commit= query, or a full commit hash as its
// #ref; a URL is pinned by --checksum=sha256:…, which BuildKit verifies.
// Schemes are matched in any case, as BuildKit's git parsing does.
func unpinnedAdd(src, checksum string) string {
	if ref, isGit, err := dfgitutil.ParseGitRef(src); err == nil && isGit && !ref.IndistinguishableFromLocal {
		if checksum != "" || ref.Checksum != "" || isCommit(ref.Ref) {
			return ""
		}
		at := "the default branch"
		if ref.Ref != "" {
			at = fmt.Sprintf("%q, a branch or tag", ref.Ref)
		}
		return fmt.Sprintf("ADD %s clones a git repository at build time at %s, which can move; no commit pins it", src, at)
	}
	if checksum == "" && isURL(src) {
		return fmt.Sprintf("ADD %s fetches a URL at build time with no --checksum", src)
	}
	return ""
}

func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// isCommit reports whether ref is a full git commit hash (SHA-1 or SHA-256).
func isCommit(ref string) bool {
	if len(ref) != 40 && len(ref) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(ref), "0123456789abcdef") == ""
}

// isRoot reports whether a USER or user = value names root: the name
// root or uid 0, however written ("00"), with any group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	return u == "root" || err == nil && uid == 0
}

// isSwitch reports whether an ENV value turns something on or off, as
// MYSQL_ALLOW_EMPTY_PASSWORD=yes does, rather than holding a secret.
func isSwitch(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "no", "true", "false", "on", "off", "1", "0":
		return true
	}
	return false
}

// secretName reports whether an environment variable or build argument
// name looks like it holds a secret (DB_PASSWORD, GITHUB_TOKEN, API_KEY),
// leaving out names of where a secret is (DB_PASSWORD_FILE).
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"_file", "_path", "_dir"} {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	for _, s := range []string{"password", "passwd", "secret", "token", "apikey", "api_key", "private_key", "access_key", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	for part := range strings.FieldsFuncSeq(n, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if part == "pass" || part == "pwd" {
			return true
		}
	}
	return false
}
