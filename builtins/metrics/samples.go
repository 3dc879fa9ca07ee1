package metrics

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferryhq/ferry/engine"
)

// A Sample is one value of one series: a histogram bucket, a counter with
// one set of labels, and so on.
type Sample struct {
	Name   string            // the series name, with _bucket, _sum or _count where it applies
	Labels map[string]string // without the name; le and quantile included
	Value  float64
}

// Samples are the samples of one exposition, queried by name and labels.
type Samples struct {
	Source string              // where they came from, for messages
	byName map[string][]Sample // ordered by labelsLess
	kinds  map[string]dto.MetricType
}

// Parse reads the Prometheus text exposition format. source names the body
// in messages (a URL, a file). An error gives the line of the body.
func Parse(source string, r io.Reader) (*Samples, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, parseError(source, body, err)
	}
	s := &Samples{Source: source, byName: map[string][]Sample{}, kinds: map[string]dto.MetricType{}}
	for name, f := range fams {
		s.kinds[name] = f.GetType()
		vec, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, f)
		if err != nil {
			return nil, fmt.Errorf("%s: metric %s: %v", source, name, err)
		}
		for _, v := range vec {
			smp := Sample{Value: float64(v.Value), Labels: make(map[string]string, len(v.Metric)-1)}
			for k, lv := range v.Metric {
				if k == model.MetricNameLabel {
					smp.Name = string(lv)
				} else {
					smp.Labels[string(k)] = string(lv)
				}
			}
			s.byName[smp.Name] = append(s.byName[smp.Name], smp)
		}
	}
	for _, list := range s.byName {
		sortByLabels(list)
	}
	return s, nil
}

// sortByLabels orders samples by their label values, label name by label
// name; values that are both numbers compare as numbers, so buckets come in
// the order of le (0.1, 1, +Inf) and quantiles in the order of quantile.
func sortByLabels(list []Sample) {
	seen := map[string]bool{}
	for _, x := range list {
		for k := range x.Labels {
			seen[k] = true
		}
	}
	names := slices.Sorted(maps.Keys(seen))
	sort.SliceStable(list, func(i, j int) bool { return labelsLess(names, list[i].Labels, list[j].Labels) })
}

// labelsLess compares the values of the labels names of a and b in turn.
func labelsLess(names []string, a, b map[string]string) bool {
	for _, k := range names {
		va, vb := a[k], b[k]
		if va == vb {
			continue
		}
		fa, errA := strconv.ParseFloat(va, 64)
		fb, errB := strconv.ParseFloat(vb, 64)
		if errA == nil && errB == nil {
			return fa < fb
		}
		return va < vb
	}
	return false
}

// parseError says which line of body is not in the text format, and shows it.
func parseError(source string, body []byte, err error) error {
	pe, ok := err.(expfmt.ParseError)
	if !ok {
		return fmt.Errorf("%s is not in the Prometheus text format: %v", source, err)
	}
	msg := fmt.Sprintf("%s is not in the Prometheus text format: line %d: %s", source, pe.Line, pe.Msg)
	lines := strings.Split(string(body), "\n")
	if pe.Line >= 1 && pe.Line <= len(lines) {
		line := lines[pe.Line-1]
		if len(line) > 120 {
			line = line[:120] + "…"
		}
		msg += fmt.Sprintf(": %q", line)
	}
	return fmt.Errorf("%s", msg)
}

// Names returns the names of every series, sorted.
func (s *Samples) Names() []string {
	return slices.Sorted(maps.Keys(s.byName))
}

// Len returns the number of samples.
func (s *Samples) Len() int {
	n := 0
	for _, l := range s.byName {
		n += len(l)
	}
	return n
}

// All returns the samples named name whose labels include match, in the
// order of their labels. It fails when no series is named name, or when no
// sample of it has one of match's label names (a typo, most likely); a
// label value no sample has yet gives no samples.
func (s *Samples) All(name string, match map[string]string) ([]Sample, error) {
	list, ok := s.byName[name]
	if !ok {
		return nil, s.missing(name)
	}
	for k, v := range match {
		if v != "" && !slices.ContainsFunc(list, func(x Sample) bool { _, has := x.Labels[k]; return has }) {
			return nil, s.missingLabel(name, k, list)
		}
	}
	var out []Sample
	for _, x := range list {
		if matches(x.Labels, match) {
			out = append(out, x)
		}
	}
	return out, nil
}

// Get returns the value of the one sample named name whose labels include
// match; it fails, listing the label sets there are, when none or several do.
func (s *Samples) Get(name string, match map[string]string) (float64, error) {
	got, err := s.All(name, match)
	if err != nil {
		return 0, err
	}
	switch len(got) {
	case 1:
		return got[0].Value, nil
	case 0:
		return 0, fmt.Errorf("no sample of %s has labels %s; its samples have %s", name, labelText(match), labelSets(s.byName[name]))
	}
	return 0, fmt.Errorf("%d samples of %s have labels %s, want one: give labels that pick one of %s, or use sum() or all()", len(got), name, labelText(match), labelSets(got))
}

// Sum returns the sum of the samples All returns: 0 when none has match's
// label values.
func (s *Samples) Sum(name string, match map[string]string) (float64, error) {
	got, err := s.All(name, match)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, x := range got {
		sum += x.Value
	}
	return sum, nil
}

// matches reports whether labels include match; as in PromQL, a label
// that is absent matches "".
func matches(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// maxListed bounds the names or label sets an error lists.
const maxListed = 12

// missing explains that no series is named name.
func (s *Samples) missing(name string) error {
	names := s.Names()
	if len(names) == 0 {
		return fmt.Errorf("no metric named %s: %s has no metrics at all", name, s.Source)
	}
	msg := fmt.Sprintf("no metric named %s in %s", name, s.Source)
	switch s.kinds[name] {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		msg += fmt.Sprintf(" (%s is a histogram: ask for %s_bucket, %s_sum or %s_count)", name, name, name, name)
	default:
		if sug := engine.Suggest(name, names); sug != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", sug)
		}
	}
	return fmt.Errorf("%s; it has %s", msg, listed(names))
}

// missingLabel explains that no sample of name has the label k.
func (s *Samples) missingLabel(name, k string, list []Sample) error {
	seen := map[string]bool{}
	for _, x := range list {
		for l := range x.Labels {
			seen[l] = true
		}
	}
	have := slices.Sorted(maps.Keys(seen))
	if len(have) == 0 {
		return fmt.Errorf("no sample of %s has a label %s: it has no labels", name, k)
	}
	msg := fmt.Sprintf("no sample of %s has a label %s", name, k)
	if sug := engine.Suggest(k, have); sug != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", sug)
	}
	return fmt.Errorf("%s; its labels are %s", msg, strings.Join(have, ", "))
}

// listed joins names, at most maxListed of them.
func listed(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// labelSets lists the label sets of samples.
func labelSets(list []Sample) string {
	sets := make([]string, len(list))
	for i, x := range list {
		sets[i] = labelText(x.Labels)
	}
	return listed(sets)
}

// labelText renders labels as Prometheus does: {a="1",b="2"}, sorted.
func labelText(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+strconv.Quote(labels[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
