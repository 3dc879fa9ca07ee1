package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/k8s"
	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/builtins/pipeline"
	"github.com/ferryhq/ferry/builtins/seccheck"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
	"github.com/ferryhq/ferry/engine/dev"
	"github.com/ferryhq/ferry/engine/redact"
	"github.com/ferryhq/ferry/stdlib"
)

// app holds the global flags and what every command sets up from them.
type app struct {
	dir       string
	file      string
	jobs      int
	logFormat string
	logLevel  string
	rawColor  bool // --raw-color: keep the colour codes of rule and container output

	stdout io.Writer
	stderr io.Writer
	// redactor removes secret values from stdout, stderr, the events and
	// the --events file; the secret plugin feeds it.
	redactor *redact.Redactor
	identity string // --identity: the age identity file

	project  string
	owner    deploy.Owner // the workspace, which labels what ferry creates in Docker
	env      string       // --env: the environment to deploy to, "" for the local Docker Engine
	profiles []string     // --profile
	events   string       // --events FILE

	eventFile *console.EventFile // of --events, nil without it
	view      *dev.View          // the watch's status view, when open

	evalMemory string                  // --eval-memory: the memory cap of evaluation, "" for the default
	stop       context.CancelCauseFunc // ends the command, for what it cannot go on after

	metricsPort int  // --metrics-port of foreground loops; -1: no metrics
	locked      bool // --locked: fetch no module ferry.lock does not pin, and never change it

	sink    *console.Sink
	bus     *engine.Bus
	docker  *dockerapi.Client
	targets deploy.TargetMakers // the deploy target of each environment, by its kind

	deployPlugin *deploy.Plugin // its Target is the selected environment's
}

// plugins lists the domains whose builtins ferry.star can use, sharing one
// lazily connected Docker client. project names what deploy rules create.
func (a *app) plugins(project string) []engine.Plugin {
	if a.docker == nil {
		a.docker = dockerapi.New()
		setup := deploy.TargetSetup{Redactor: a.redactor, Warn: func(msg string) { a.bus.Logf(engine.LevelWarn, "%s", msg) }}
		a.targets = deploy.NewTargetMakers(setup, append(docker.TargetKinds(a.docker), k8s.TargetKind(a.docker))...)
	}
	a.targets.Own(a.owner)
	a.deployPlugin = &deploy.Plugin{Project: project, Target: a.targets.For(nil)}
	secrets := &secret.Plugin{Redactor: a.redactor, Env: a.env, Identity: a.identity}
	return []engine.Plugin{core.Plugin{Env: a.env, Secrets: secrets}, docker.Plugin{Client: a.docker, Project: project, Secrets: secrets, Deploy: a.deployPlugin}, a.deployPlugin, metrics.Plugin{},
		secrets, seccheck.Plugin{}, pipeline.Plugin{}}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Build, test and deploy from one Starlark file, running only what changed",
		Long: `ferry reads ferry.star (found by walking up from the current folder), builds the
graph of rules it declares, and runs the rules whose inputs changed.

  ferry run            run every build rule that is out of date
  ferry run api        run api and what it depends on
  ferry plan           say what would run and why
  ferry graph          show the rules and their deps`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.identity = a.path(a.identity)
			return a.setupLogging()
		},
	}
	f := root.PersistentFlags()
	f.StringVarP(&a.dir, "dir", "C", ".", "run as if started in `DIR`")
	f.StringVarP(&a.file, "file", "f", "", "use `FILE` as the main Starlark file (its folder is the workspace root)")
	f.IntVarP(&a.jobs, "jobs", "j", runtime.NumCPU(), "run at most `N` rules at once")
	f.StringVar(&a.logFormat, "log-format", "console", "log format: console (lines for people; coloured on a terminal) or json")
	f.StringVar(&a.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	f.BoolVar(&a.rawColor, "raw-color", os.Getenv("FERRY_RAW_COLOR") != "", "keep the colour codes (SGR) of task and container output; other control characters are still shown escaped, as \\x1b (default: $FERRY_RAW_COLOR set)")
	f.StringArrayVar(&a.profiles, "profile", nil, "also run the rules of profile `NAME` when no rule is named (repeatable; FERRY_PROFILES adds more)")
	f.StringVar(&a.events, "events", "", "append every engine event to `FILE` as one JSON object per line (see docs/watch.md)")
	f.StringVar(&a.env, "env", os.Getenv("FERRY_ENV"), "`NAME` of the environment() to deploy to with up, status, logs and down (default: $FERRY_ENV, else the local Docker Engine)")
	f.StringVar(&a.identity, "identity", "", "age identity `FILE` that decrypts secret(encrypted = ...) (default: $FERRY_AGE_KEY, else ferry/age.key in the user's config folder)")
	f.StringVar(&a.evalMemory, "eval-memory", os.Getenv("FERRY_EVAL_MEMORY"), "cap the memory that evaluating ferry.star may use at `SIZE`, such as 512Mi or 4Gi (default: $FERRY_EVAL_MEMORY, else 2Gi or a quarter of the machine's memory if less)")
	f.StringVar(&a.project, "project", os.Getenv("FERRY_PROJECT"), "`NAME` that prefixes and labels what ferry creates in Docker (default: $FERRY_PROJECT, else the workspace folder's name)")
	root.AddCommand(a.runCommand(), a.planCommand(), a.graphCommand(), a.upCommand(), a.downCommand(), a.statusCommand(), a.logsCommand(),
		a.execCommand(), a.restartCommand(), a.pruneCommand(), a.pullCommand(), a.pushCommand(), a.renderCommand(), a.diffCommand(),
		a.initCommand(), a.versionCommand(), a.docCommand(), a.secretCommand(), a.lintCommand(), a.ciCommand(), a.testCommand(), a.fmtCommand(),
		a.importCommand(), a.exportCommand())
	f.BoolVar(&a.locked, "locked", os.Getenv("CI") != "", "fetch no module that ferry.lock does not pin, and never change ferry.lock (default: $CI set, and under ferry ci)")
	root.AddCommand(a.watchCommand(), a.triggerCommand(), a.modCommand())
	root.AddCommand(a.portForwardCommand())
	a.addCompletions(root)
	// --version, as Go and Docker tools have it: the line `ferry version` prints.
	root.Version = ferryVersion()
	root.SetVersionTemplate(versionLine() + "\n")
	return root
}

func (a *app) setupLogging() error {
	lvl, err := console.ParseLevel(a.logLevel)
	if err != nil {
		return err
	}
	a.sink, err = console.New(console.Options{Out: a.stderr, Format: a.logFormat, Level: lvl, Color: console.ColorFor(a.stderr), RawColor: a.rawColor})
	if err != nil {
		return err
	}
	a.bus = engine.NewBus(a.redactor, a.sink)
	a.bus.KeepColor(a.rawColor)
	a.redactor.SetWarn(func(msg string) { a.bus.Logf(engine.LevelWarn, "%s", msg) })
	// Every event is appended to --events FILE as a JSON line.
	if a.eventFile, err = console.CreateEventFile("--events", a.events, a.path(a.events), a.redactor); a.eventFile != nil {
		a.bus.Add(a.eventFile)
	}
	return err
}

// path resolves p, a path given on the command line, against -C DIR, as
// if ferry had been started there (as -f FILE is).
func (a *app) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.dir, p)
}

// paths resolves each of ps as path does.
func (a *app) paths(ps []string) []string {
	var out []string
	for _, p := range ps {
		out = append(out, a.path(p))
	}
	return out
}

// create creates (or truncates) the file that flag names, p as given on the
// command line, resolved by a.path; nil when p is "".
func (a *app) create(flag, p string) (*console.FlagFile, error) {
	return console.CreateFlagFile(flag, p, a.path(p), a.redactor)
}

// session opens the workspace that -C and -f name, with ferry's plugins,
// the bus, and the global flags.
func (a *app) session() (*engine.Session, error) {
	maxMemory, err := a.maxEvalMemory()
	if err != nil {
		return nil, err
	}
	s, err := engine.Open(engine.SessionOptions{
		Dir:           a.dir,
		File:          a.file,
		Project:       a.project,
		Plugins:       func(s *engine.Session) []engine.Plugin { return a.plugins(s.Project) },
		Sources:       moduleSources(),
		Modules:       a.modules,
		Events:        a.bus,
		Jobs:          a.jobs,
		Profiles:      a.enabledProfiles(),
		MaxEvalMemory: maxMemory,
		// What evaluation depends on besides the session: a no-op
		// record is trusted only under the same.
		Config: strings.Join([]string{versionLine(), "env=" + a.env, "identity=" + a.identity, "eval-memory=" + a.evalMemory}, "\x00"),
	})
	if err != nil {
		return nil, err
	}
	a.owner = deploy.OwnerOf(s.Workspace.Root)
	return s, nil
}

// moduleSources returns the module repositories beside the workspace.
func moduleSources() map[string]engine.ModuleSource {
	return map[string]engine.ModuleSource{"std": engine.FSSource{Repo: "std", FS: stdlib.FS}}
}

// load finds the workspace, evaluates it with the given config flags,
// checks the graph and selects the environment to deploy to: the one
// --env (or FERRY_ENV) names, else the local Docker Engine.
func (a *app) load(ctx context.Context, flags map[string]string) (*engine.Loaded, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	ld, err := s.Load(ctx, flags)
	if errors.Is(err, engine.ErrAbandoned) {
		// A builtin call goes on in the background, allocating: a watch
		// must end too.
		a.stop(err)
	}
	if err != nil {
		return nil, err
	}
	return ld, a.deployPlugin.SelectEnv(ld.Result, a.env, a.targets)
}

// maxEvalMemory returns --eval-memory in bytes, or 0 for the default.
func (a *app) maxEvalMemory() (uint64, error) {
	if a.evalMemory == "" {
		return 0, nil
	}
	n, err := deploy.ParseMemory(a.evalMemory)
	if err != nil {
		return 0, fmt.Errorf("--eval-memory (or FERRY_EVAL_MEMORY) %q: want a size such as 512Mi or 4Gi", a.evalMemory)
	}
	return uint64(n), nil
}

// loadArgs evaluates the workspace with the config flags given after "--"
// and returns the rule names given before it.
func (a *app) loadArgs(cmd *cobra.Command, args []string) ([]string, *engine.Loaded, error) {
	names, flags, err := splitDash(cmd, args)
	if err != nil {
		return nil, nil, err
	}
	l, err := a.load(cmd.Context(), flags)
	return names, l, err
}

// splitDash separates rule names from the config flags after "--".
func splitDash(cmd *cobra.Command, args []string) ([]string, map[string]string, error) {
	at := cmd.ArgsLenAtDash()
	if at < 0 {
		return args, nil, nil
	}
	flags, err := engine.ParseFlags(args[at:])
	return args[:at], flags, err
}
