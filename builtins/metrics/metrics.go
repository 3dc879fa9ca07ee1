// Package metrics provides the metrics module of ferry.star:
// metrics.scrape(url) reads a service's Prometheus metrics in a run-time
// action and returns samples that the action queries by name and labels.
package metrics

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ferryhq/ferry/engine"
)

// Plugin is the metrics domain.
type Plugin struct{}

// Builtins returns metrics.scrape.
func (Plugin) Builtins() []*engine.Builtin { return []*engine.Builtin{scrapeBuiltin} }

// MethodDocs returns the methods of the samples metrics.scrape returns, for
// the reference.
func (Plugin) MethodDocs() []*engine.Builtin {
	return []*engine.Builtin{getBuiltin, allBuiltin, sumBuiltin, namesBuiltin}
}

// defaultTimeout bounds a scrape when the script gives no timeout.
const defaultTimeout = 5 * time.Second

var scrapeBuiltin = &engine.Builtin{
	Name:       "metrics.scrape",
	Permission: "network",
	Doc: "GETs a URL serving Prometheus metrics in the text format and parses them. " +
		"Fails with a clear message when the URL cannot be reached, answers with another status than 200, " +
		"or answers with something else than the text format (giving the line). See docs/metrics.md.",
	RunTimeOnly: true,
	Params: []engine.Param{
		{Name: "url", Type: engine.String, Required: true, Positional: true, Doc: "The full URL, such as `http://127.0.0.1:8080/metrics`."},
		{Name: "timeout", Type: engine.Duration, Default: `"5s"`, Doc: "Give up when no complete answer came within this time."},
	},
	Returns: "the samples (type `samples`), with the methods `get`, `all`, `sum` and `names`; " +
		"histograms appear as their `_bucket` (label `le`), `_sum` and `_count` series, summaries as the series itself (label `quantile`), `_sum` and `_count`.",
	Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		s, err := Scrape(engine.RunTimeContext(thread), c.String("url"), c.Duration("timeout", defaultTimeout))
		if err != nil {
			return nil, fmt.Errorf("metrics.scrape: %v", err)
		}
		return &samplesValue{s: s}, nil
	},
}

var labelsParam = engine.Param{Name: "labels", Type: engine.StringDict, Default: "{}", Doc: "Label values the samples must have; an absent label counts as `\"\"`."}

var (
	getBuiltin = &engine.Builtin{
		Name:        "samples.get",
		Doc:         "Returns the value of the one sample with this name and these labels. Fails, naming what there is, when the metric does not exist or when no sample or several samples match.",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The series name, such as `http_requests_total` or `latency_seconds_bucket`."},
			labelsParam,
		},
		Returns: "a float.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			v, err := receiver(c).Get(c.String("name"), c.StringMap("labels"))
			if err != nil {
				return nil, fmt.Errorf("samples.get: %v", err)
			}
			return starlark.Float(v), nil
		},
	}
	allBuiltin = &engine.Builtin{
		Name:        "samples.all",
		Doc:         "Returns every sample with this name and these labels, ordered by labels (numbers as numbers: buckets in the order of `le`). Fails when the metric does not exist or no sample of it has one of the label names; a label value that no sample has gives an empty list.",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The series name."},
			labelsParam,
		},
		Returns: "a list of structs with `name` (string), `labels` (dict of strings) and `value` (float).",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			got, err := receiver(c).All(c.String("name"), c.StringMap("labels"))
			if err != nil {
				return nil, fmt.Errorf("samples.all: %v", err)
			}
			vs := make([]starlark.Value, len(got))
			for i, x := range got {
				vs[i] = sampleValue(x)
			}
			return starlark.NewList(vs), nil
		},
	}
	sumBuiltin = &engine.Builtin{
		Name:        "samples.sum",
		Doc:         "Returns the sum of the samples `all` returns: 0.0 when none has these label values. Fails as `all` does.",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The series name."},
			labelsParam,
		},
		Returns: "a float.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			v, err := receiver(c).Sum(c.String("name"), c.StringMap("labels"))
			if err != nil {
				return nil, fmt.Errorf("samples.sum: %v", err)
			}
			return starlark.Float(v), nil
		},
	}
	namesBuiltin = &engine.Builtin{
		Name:        "samples.names",
		Doc:         "Returns the names of every series scraped, sorted: a way to check for a metric that may not exist yet, such as a counter not yet incremented.",
		RunTimeOnly: true,
		Returns:     "a list of strings.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			names := receiver(c).Names()
			vs := make([]starlark.Value, len(names))
			for i, n := range names {
				vs[i] = starlark.String(n)
			}
			return starlark.NewList(vs), nil
		},
	}
)

func receiver(c *engine.Call) *Samples { return c.Receiver.(*samplesValue).s }

// sampleValue is a Sample as a Starlark struct.
func sampleValue(x Sample) starlark.Value {
	labels := starlark.NewDict(len(x.Labels))
	for k, v := range x.Labels {
		labels.SetKey(starlark.String(k), starlark.String(v))
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"name":   starlark.String(x.Name),
		"labels": labels,
		"value":  starlark.Float(x.Value),
	})
}

// samplesValue is the Starlark value metrics.scrape returns.
type samplesValue struct{ s *Samples }

var samplesMethods = map[string]*engine.Builtin{"get": getBuiltin, "all": allBuiltin, "sum": sumBuiltin, "names": namesBuiltin}

func (v *samplesValue) String() string {
	return fmt.Sprintf("<samples of %s: %d series, %d samples>", v.s.Source, len(v.s.byName), v.s.Len())
}
func (v *samplesValue) Type() string          { return "samples" }
func (v *samplesValue) Freeze()               {}
func (v *samplesValue) Truth() starlark.Bool  { return true }
func (v *samplesValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: samples") }
func (v *samplesValue) AttrNames() []string   { return []string{"all", "get", "names", "sum", "url"} }

// Attr returns url or a method bound to v.
func (v *samplesValue) Attr(name string) (starlark.Value, error) {
	if name == "url" {
		return starlark.String(v.s.Source), nil
	}
	b, ok := samplesMethods[name]
	if !ok {
		return nil, nil
	}
	return b.Value().(*starlark.Builtin).BindReceiver(v), nil
}
