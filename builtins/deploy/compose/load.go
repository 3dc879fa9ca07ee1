// Package compose translates between compose projects and ferry: Import
// reads a compose project with the compose-spec reference library
// (interpolation, .env, extends, include, profiles) and writes the
// service(), job(), image(), secret(), volume() and network() calls of a
// ferry.star; Export writes the services and jobs of an evaluated
// workspace as a compose file. What does not translate is listed, with
// its position, never dropped.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	yaml4 "go.yaml.in/yaml/v4"
)

// A Finding is a piece of the compose project that was not translated.
type Finding struct {
	Path string // where in the compose model: "services.web.deploy.placement"
	Pos  string // "compose.yaml:12", or the file alone when the line is not known
	Why  string // what ferry does instead, or why it cannot
}

func (f Finding) String() string {
	s := f.Path
	if f.Pos != "" {
		s = f.Pos + ": " + s
	}
	return oneLine(s + ": not translated: " + f.Why)
}

// LoadOptions say which compose project to read.
type LoadOptions struct {
	// Files are the compose files, merged in order; none: compose's
	// default names (compose.yaml, docker-compose.yml...) in Dir.
	Files []string
	// Dir is the folder the project is read from; paths are relative to it.
	Dir string
	// Env is the environment interpolation reads, on top of Dir/.env
	// (os.Environ() for the user's).
	Env []string
}

// A project is a loaded compose project, with the findings of loading and
// what locates a model path in its files.
type project struct {
	*types.Project
	findings []Finding
	warnings []string // what compose-go warned of, such as a variable not set
	files    *sources
	// raw is the model before interpolation ("${DB_PASSWORD}"), nil when
	// it does not load; dotenv the variables of the project's .env.
	raw    map[string]any
	dotenv map[string]string
}

// compose-go warns through logrus, the global logger: loads take turns,
// and while one runs a hook hands it the warnings, which are not printed.
var (
	loading  sync.Mutex // one load at a time
	hookMu   sync.Mutex
	collect  *[]string // the running load's warnings; nil when none runs
	hookOnce sync.Once
)

type warnHook struct{}

func (warnHook) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel, logrus.ErrorLevel} }

func (warnHook) Fire(e *logrus.Entry) error {
	hookMu.Lock()
	defer hookMu.Unlock()
	if collect != nil {
		*collect = append(*collect, e.Message)
	}
	return nil
}

// collectWarnings starts collecting compose-go's warnings into ws, and
// returns what stops it.
func collectWarnings(ws *[]string) func() {
	hookOnce.Do(func() { logrus.AddHook(warnHook{}) })
	hookMu.Lock()
	collect = ws
	hookMu.Unlock()
	out := logrus.StandardLogger().Out
	logrus.SetOutput(io.Discard)
	return func() {
		logrus.SetOutput(out)
		hookMu.Lock()
		collect = nil
		hookMu.Unlock()
	}
}

// load reads the project with every profile enabled (each service keeps
// its profiles), env_file and label_file left unread, and relative paths
// made absolute.
func load(ctx context.Context, o LoadOptions) (*project, error) {
	loading.Lock()
	defer loading.Unlock()
	var warnings []string
	defer collectWarnings(&warnings)()
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	files := make([]string, len(o.Files))
	for i, f := range o.Files {
		if files[i] = f; !filepath.IsAbs(f) {
			files[i] = filepath.Join(dir, f)
		}
		if _, err := os.Stat(files[i]); err != nil {
			return nil, fmt.Errorf("compose file %s: %w; give the path of a compose file (compose.yaml, docker-compose.yml)", rel(dir, files[i]), errors.Unwrap(err))
		}
	}
	var unsupported []loader.UnsupportedAttribute
	report := func(u []loader.UnsupportedAttribute) { unsupported = u }
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(o.Env),
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithProfiles([]string{"*"}),
		cli.WithoutEnvironmentResolution,
		cli.WithoutLabelsResolution,
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(loader.WithSupportedAttributes(supportedPaths(), report), maskSecretLookup),
	)
	if err != nil {
		return nil, explain(err, dir, opts.ConfigPaths)
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, withWarnings(explain(err, dir, opts.ConfigPaths), warnings)
	}
	src := newSources(dir, p.ComposeFiles)
	slices.Sort(warnings)
	pr := &project{Project: p, files: src, warnings: slices.Compact(warnings)}
	pr.raw, pr.dotenv = rawModel(ctx, files, dir, o.Env)
	for _, u := range unsupported {
		path := u.Path.String()
		why := lookupWhy(u.Path)
		if why == "" {
			why = "ferry has no equivalent; see docs/compose.md"
		}
		pr.findings = append(pr.findings, Finding{Path: path, Pos: src.pos(path), Why: why})
	}
	return pr, nil
}

// rawModel loads the project again without interpolation, so that Import
// sees which values came from a variable; and reads the project's .env.
func rawModel(ctx context.Context, files []string, dir string, env []string) (map[string]any, map[string]string) {
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(env),
		cli.WithDefaultConfigPath,
		cli.WithInterpolation(false),
		cli.WithProfiles([]string{"*"}),
		cli.WithoutEnvironmentResolution,
		cli.WithLoadOptions(loader.WithSkipValidation),
	)
	if err != nil {
		return nil, nil
	}
	model, err := opts.LoadModel(ctx)
	if err != nil {
		model = nil
	}
	vars, err := dotenv.Read(filepath.Join(dir, ".env"))
	if err != nil {
		vars = nil
	}
	return model, vars
}

// withWarnings adds to err what compose warned of while reading, which
// often says why (a variable not set).
func withWarnings(err error, warnings []string) error {
	if len(warnings) == 0 {
		return err
	}
	ws := slices.Clone(warnings)
	slices.Sort(ws)
	return fmt.Errorf("%w (compose warned: %s)", err, strings.Join(slices.Compact(ws), "; "))
}

// explain makes a loading error say where: compose-go names the file; a
// YAML error has its line, a schema error its model path.
func explain(err error, dir string, files []string) error {
	msg := err.Error()
	if errors.Is(err, os.ErrNotExist) || strings.Contains(msg, "no configuration file provided") {
		return fmt.Errorf("no compose file in %s: %v; give one with `ferry import compose FILE`", dir, err)
	}
	if strings.Contains(msg, "yaml:") {
		// compose-go does not always name the file: the first that does
		// not parse is the one.
		for _, f := range files {
			b, rerr := os.ReadFile(f)
			var v any
			if rerr != nil {
				continue
			}
			if yerr := yaml4.Unmarshal(b, &v); yerr != nil {
				return fmt.Errorf("%s; fix the YAML there", yamlError(rel(dir, f), yerr.Error()))
			}
		}
	}
	if m := undefinedDep.FindStringSubmatch(msg); m != nil {
		path := pathOf("services", m[1], "depends_on", m[2])
		pos := newSources(dir, files).pos(path)
		return fmt.Errorf("%s: %s: service %q depends on %q, which the project does not define; define it, or remove it from depends_on", pos, path, m[1], m[2])
	}
	if m := schemaError.FindStringSubmatch(msg); m != nil {
		file, path := m[1], m[2]
		pos := rel(dir, file)
		if line := newSources(dir, []string{file}).line(path); line > 0 {
			pos += ":" + strconv.Itoa(line)
		}
		return fmt.Errorf("%s: %s%s; compose (and so ferry) does not accept it", pos, path, m[3])
	}
	return fmt.Errorf("compose project in %s: %v", dir, err)
}

// yamlError writes a YAML parser's error as file:line: problem. The
// parser (go.yaml.in/yaml/v4, as compose-go's) counts a parser error's
// problem line from 0 ("while parsing a block mapping at line 1, column
// 3: line 3, column 4: did not find expected key" is about line 4), a
// scanner error's from 1 ("while scanning ... at line 2: found character
// that cannot start any token").
func yamlError(file, msg string) string {
	if m := parserProblem.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("%s:%d: %s", file, n+1, m[2])
	}
	if m := scannerProblem.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: %s", file, m[1], m[2])
	}
	return file + ": " + strings.TrimPrefix(msg, "yaml: ")
}

var (
	parserProblem  = regexp.MustCompile(`: line (\d+), column \d+: ([^:]*)$`)
	scannerProblem = regexp.MustCompile(`at line (\d+)(?:, column \d+)?: ([^:]*)$`)
	// "validating /x/compose.yaml: services.web.ports.0 must be ..."
	undefinedDep = regexp.MustCompile(`service "([^"]+)" depends on undefined service "?([^":]+)"?`)
	schemaError  = regexp.MustCompile(`validating (\S+): ((?:services|networks|volumes|secrets|configs|jobs)\S*)(.*)`)
)

// rel is p relative to dir when it lies below it.
func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// sortFindings orders findings by position, then path, for stable output.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := comparePos(a.Pos, b.Pos); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

func comparePos(a, b string) int {
	af, al, _ := strings.Cut(a, ":")
	bf, bl, _ := strings.Cut(b, ":")
	if af != bf {
		return strings.Compare(af, bf)
	}
	an, _ := strconv.Atoi(al)
	bn, _ := strconv.Atoi(bl)
	return an - bn
}

// pathOf builds a model path from its parts.
func pathOf(parts ...string) string { return tree.NewPath(parts...).String() }
