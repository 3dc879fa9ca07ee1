package deploy

import (
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// A HealthCheck says how to tell that a service is healthy. An exec check
// becomes the container's Docker HEALTHCHECK; ferry itself probes http and
// tcp checks from outside the container (images FROM scratch have no curl
// to run inside), with Docker's rules for the timings (see Tracker).
type HealthCheck struct {
	Kind        string   // "http", "tcp" or "exec"
	Path        string   // http
	Port        int      // http, tcp
	Argv        []string // exec: run without a shell
	Shell       string   // exec: run with the image's /bin/sh
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
	// StartInterval is the time between probes during the start period;
	// 0: Interval.
	StartInterval time.Duration
}

// String describes the check, for the config hash and messages.
func (h *HealthCheck) String() string {
	var what string
	switch h.Kind {
	case "http":
		what = fmt.Sprintf("GET :%d%s", h.Port, h.Path)
	case "tcp":
		what = fmt.Sprintf("connect :%d", h.Port)
	default:
		what = strings.Join(h.Argv, " ")
		if h.Argv == nil {
			what = "sh -c " + h.Shell
		}
	}
	s := fmt.Sprintf("health.%s(%s every %s, timeout %s, %d retries, start period %s", h.Kind, what, h.Interval, h.Timeout, h.Retries, h.StartPeriod)
	if h.StartInterval != 0 {
		// Only when set, so that adding it replaced no container.
		s += fmt.Sprintf(", every %s meanwhile", h.StartInterval)
	}
	return s + ")"
}

// ProbeInterval is the time between probes of a replica that is starting
// (within its start period, not yet healthy) or not.
func (h *HealthCheck) ProbeInterval(starting bool) time.Duration {
	if starting && h.StartInterval > 0 {
		return h.StartInterval
	}
	return h.Interval
}

// The Starlark value of a health check.
func (h *HealthCheck) Type() string          { return "health_check" }
func (h *HealthCheck) Freeze()               {}
func (h *HealthCheck) Truth() starlark.Bool  { return true }
func (h *HealthCheck) Hash() (uint32, error) { return starlark.String(h.String()).Hash() }

var timingParams = []engine.Param{
	{Name: "interval", Type: engine.Duration, Default: `"10s"`, Doc: "Time between probes."},
	{Name: "timeout", Type: engine.Duration, Default: `"2s"`, Doc: "How long one probe may take."},
	{Name: "retries", Type: engine.Int, Default: "3", Doc: "Failed probes in a row before the service counts as unhealthy."},
	{Name: "start_period", Type: engine.Duration, Default: `"0s"`, Doc: "Time to start up, during which failures do not count (a success still makes the service healthy)."},
	{Name: "start_interval", Type: engine.Duration, Doc: "Time between probes during the start period, so a service that starts fast is found healthy early without probing it often later (`\"1s\"`); `interval` by default. For `health.exec`, Docker runs it and needs Engine 25 or later (API 1.44)."},
}

func healthBuiltin(kind, doc string, params ...engine.Param) *engine.Builtin {
	return &engine.Builtin{
		Name:    "health." + kind,
		Doc:     doc,
		Params:  append(params, timingParams...),
		Returns: "a health check for `service(health = ...)`.",
		Impl: func(_ *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			h := &HealthCheck{
				Kind:        kind,
				Path:        c.String("path"),
				Port:        c.Int("port", 0),
				Interval:    c.Duration("interval", 10*time.Second),
				Timeout:     c.Duration("timeout", 2*time.Second),
				Retries:     c.Int("retries", 3),
				StartPeriod: c.Duration("start_period", 0),
			}
			if c.Has("start_interval") {
				if h.StartInterval = c.Duration("start_interval", 0); h.StartInterval <= 0 {
					return nil, c.Errorf("start_interval: got %s, want a duration of more than 0 (leave it out to probe every interval)", h.StartInterval)
				}
				if h.StartPeriod == 0 {
					return nil, c.Errorf("start_interval applies during the start period, and start_period is 0s; give start_period too (start_period = \"30s\")")
				}
			}
			if c.Has("cmd") {
				cmd := c.Value("cmd").(engine.Cmd)
				h.Argv, h.Shell = cmd.Argv, cmd.Shell
				if len(h.Argv) == 0 && strings.TrimSpace(h.Shell) == "" {
					return nil, c.Errorf("cmd must not be empty")
				}
			}
			switch {
			case kind != "exec" && (h.Port < 1 || h.Port > 65535):
				return nil, c.Errorf("port: got %d, want the container port to probe (1-65535)", h.Port)
			case kind == "http" && !strings.HasPrefix(h.Path, "/"):
				return nil, c.Errorf("path: got %q, want a path such as \"/healthz\"", h.Path)
			case h.Interval <= 0 || h.Timeout <= 0:
				return nil, c.Errorf("interval and timeout must be more than 0")
			case h.Retries < 1:
				return nil, c.Errorf("retries: got %d, want 1 or more", h.Retries)
			}
			return h, nil
		},
	}
}

var healthBuiltins = []*engine.Builtin{
	healthBuiltin("http", "An HTTP health check: healthy when `GET path` on the container's `port` answers 2xx or 3xx. ferry probes it from outside the container (at the container's address, or its published port when the Engine is not on this machine); it is not passed to Docker, since images FROM scratch have no program to probe with.",
		engine.Param{Name: "path", Type: engine.String, Required: true, Positional: true, Doc: "Path to request, such as `/healthz`."},
		engine.Param{Name: "port", Type: engine.Int, Required: true, Doc: "Container port."}),
	healthBuiltin("tcp", "A TCP health check: healthy when the container's `port` accepts a connection. Probed by ferry, like `health.http`.",
		engine.Param{Name: "port", Type: engine.Int, Required: true, Positional: true, Doc: "Container port."}),
	healthBuiltin("exec", "A health check that runs a command inside the container: healthy when it exits 0. It becomes the container's Docker `HEALTHCHECK`, so `ferry status` and `docker ps` show the health; the program must exist in the image.",
		engine.Param{Name: "cmd", Type: engine.Command, Required: true, Positional: true, Doc: "A list (argv, no shell) or a string (run by the image's `/bin/sh -c`)."}),
	disableBuiltin,
	waitBuiltin,
}

// Disabled is the check of health.disable(): none, not even the image's
// HEALTHCHECK. declare turns it into Settings.HealthDisabled.
var Disabled = &HealthCheck{Kind: "none"}

var disableBuiltin = &engine.Builtin{
	Name: "health.disable",
	Doc: "Turns off the image's own `HEALTHCHECK` (compose's `healthcheck: {disable: true}`): the container runs with no health check, " +
		"and services that depend on it wait only for it to run. Without `health`, the image's check runs, if it has one.",
	Returns: "a value for `service(health = ...)`.",
	Impl:    func(*starlark.Thread, *engine.Call) (starlark.Value, error) { return Disabled, nil },
}
