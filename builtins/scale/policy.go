// Package scale adjusts how many replicas of a service run: autoscale()
// declares a policy, a Controller turns observations of a metric into
// decisions, and Loop drives them, in the foreground, through a Scaler that
// targets implement.
package scale

import (
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// CPU is the metric name that means container CPU (percent of one core),
// read from the Engine's streaming stats instead of a scrape.
const CPU = "cpu"

// A Policy is what autoscale() declares.
type Policy struct {
	Min, Max int
	Metric   string  // CPU, or a Prometheus metric scraped from each replica
	Target   float64 // per-replica average of the metric's rate (counter) or value (gauge, CPU)
	Window   time.Duration
	Cooldown time.Duration // scale-down stabilisation window
	Path     string        // metrics path
	Port     int           // metrics container port
}

// String describes the policy, for the config hash and messages.
func (p *Policy) String() string {
	if p.Metric == CPU {
		return fmt.Sprintf("autoscale(%d-%d replicas, cpu %g%% per replica over %s, cooldown %s)", p.Min, p.Max, p.Target, p.Window, p.Cooldown)
	}
	return fmt.Sprintf("autoscale(%d-%d replicas, %s from :%d%s at %g per replica over %s, cooldown %s)", p.Min, p.Max, p.Metric, p.Port, p.Path, p.Target, p.Window, p.Cooldown)
}

// Tick is how often the loop observes the service: three times a window,
// so a rate has points across it and a change is acted on within one.
func (p *Policy) Tick() time.Duration { return max(p.Window/3, 200*time.Millisecond) }

// The Starlark value of a policy.
func (p *Policy) Type() string          { return "autoscale" }
func (p *Policy) Freeze()               {}
func (p *Policy) Truth() starlark.Bool  { return true }
func (p *Policy) Hash() (uint32, error) { return starlark.String(p.String()).Hash() }

// Builtin is autoscale().
var Builtin = &engine.Builtin{
	Name: "autoscale",
	Doc: "An autoscaling policy for `service(autoscale = ...)`: while `ferry up --follow` or `ferry watch` runs, ferry keeps the service's replicas between `min` and `max` " +
		"so that the per-replica average of `metric` stays near `target`. It scales up at once and down only to the highest count it recommended during `cooldown`, so it does not flap. See docs/scaling.md.",
	Params: []engine.Param{
		{Name: "min", Type: engine.Int, Required: true, Doc: "Fewest replicas (1 or more); `ferry up` starts this many."},
		{Name: "max", Type: engine.Int, Required: true, Doc: "Most replicas."},
		{Name: "metric", Type: engine.String, Required: true, Doc: "`\"cpu\"` (container CPU, percent of one core, from the Engine's stats), or the name of a Prometheus counter or gauge each replica serves: a counter (a name ending in `_total`) is read as a rate per second over `window`, anything else as a value averaged over `window`."},
		{Name: "target", Type: number{}, Required: true, Doc: "The per-replica average to keep: requests per second for a counter, the value for a gauge, percent for cpu."},
		{Name: "window", Type: engine.Duration, Default: `"30s"`, Doc: "How far back rates and averages look; the loop observes three times per window."},
		{Name: "cooldown", Type: engine.Duration, Default: `"60s"`, Doc: "Scale-down stabilisation: a scale down goes only to the highest count recommended within this time."},
		{Name: "path", Type: engine.String, Default: `"/metrics"`, Doc: "Path of the replicas' metrics."},
		{Name: "port", Type: engine.Int, Doc: "Container port of the replicas' metrics (not needed for cpu)."},
	},
	Returns: "a policy for `service(autoscale = ...)`.",
	Impl: func(_ *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		p := &Policy{
			Min: c.Int("min", 0), Max: c.Int("max", 0), Metric: c.String("metric"), Target: c.Value("target").(float64),
			Window: c.Duration("window", 30*time.Second), Cooldown: c.Duration("cooldown", 60*time.Second),
			Path: c.String("path"), Port: c.Int("port", 0),
		}
		if p.Path == "" {
			p.Path = "/metrics"
		}
		switch {
		case p.Min < 1:
			return nil, c.Errorf("min: got %d, want 1 or more (use replicas = 0 to run none)", p.Min)
		case p.Min > p.Max:
			return nil, c.Errorf("min (%d) is more than max (%d); give min <= max", p.Min, p.Max)
		case p.Metric == "":
			return nil, c.Errorf("metric: give \"cpu\" or the name of a counter or gauge the service serves, such as \"http_requests_total\"")
		case p.Target <= 0 || math.IsInf(p.Target, 0) || math.IsNaN(p.Target):
			return nil, c.Errorf("target: got %s, want a number more than 0 (the per-replica average to keep)", c.Raw("target"))
		case p.Window <= 0:
			return nil, c.Errorf("window: got %s, want a duration more than 0, such as \"30s\"", p.Window)
		case p.Metric != CPU && (p.Port < 1 || p.Port > 65535):
			return nil, c.Errorf("port: got %d, want the container port serving %s%s (1-65535)", p.Port, p.Metric, p.Path)
		case p.Path[0] != '/':
			return nil, c.Errorf("path: got %q, want a path such as \"/metrics\"", p.Path)
		}
		return p, nil
	},
}

// PolicyType accepts what autoscale() returns, for a builtin's parameter.
type PolicyType struct{}

// Describe names the type in messages.
func (PolicyType) Describe() string { return "autoscale(...)" }

// Convert returns the *Policy.
func (PolicyType) Convert(v starlark.Value) (any, bool) {
	p, ok := v.(*Policy)
	return p, ok
}

// number accepts an int or a float.
type number struct{}

func (number) Describe() string { return "number" }

func (number) Convert(v starlark.Value) (any, bool) {
	switch v.(type) {
	case starlark.Int, starlark.Float:
		f, ok := starlark.AsFloat(v)
		return f, ok
	}
	return nil, false
}
