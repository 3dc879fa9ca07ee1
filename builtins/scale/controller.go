package scale

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Tolerance is how far the observed average may stray from the target, as
// a fraction of it, before the controller changes the count.
const Tolerance = 0.1

// IsCounter reports whether metric is read as a rate: a Prometheus counter,
// which by convention ends in _total.
func IsCounter(metric string) bool { return strings.HasSuffix(metric, "_total") }

// A Controller decides one service's replica count from observations of its
// replicas, as Kubernetes' HPA does: desired = ceil(current × observed /
// target), clamped to [Min, Max], unchanged within Tolerance; up at once,
// down only to the highest recommendation (or finished scale, see Scaled)
// within the cooldown. It is not
// safe for concurrent use.
type Controller struct {
	Service string
	Policy  *Policy

	series map[string][]point // replica → its observations within the window
	recs   []point            // recommendations within the cooldown (v: the count)
}

type point struct {
	t time.Time
	v float64
}

// NewController returns a Controller for service with policy p.
func NewController(service string, p *Policy) *Controller {
	return &Controller{Service: service, Policy: p, series: map[string][]point{}}
}

// Observe records the metric's value for each replica now running, by
// replica name; replicas not in values are gone and forgotten.
func (c *Controller) Observe(now time.Time, values map[string]float64) {
	for r := range c.series {
		if _, ok := values[r]; !ok {
			delete(c.series, r)
		}
	}
	from := now.Add(-c.Policy.Window)
	for r, v := range values {
		s := append(c.series[r], point{now, v})
		i := 0
		for i < len(s) && s[i].t.Before(from) {
			i++
		}
		c.series[r] = s[i:]
	}
}

// Average returns the per-replica average over the window. For a counter
// it is the service's rate (the increase of every replica's counter over
// the time the observations span; a value lower than the one before is a
// reset and counts from 0) divided by the replicas observed now: a replica
// that has just started counts, having served little, so the rate a
// scale-up spreads is not counted again while the window catches up. For
// anything else it is the mean of each replica's average value. ok is false
// until there is something to average (two observations, for a counter).
func (c *Controller) Average() (avg float64, ok bool) {
	if IsCounter(c.Policy.Metric) {
		return c.rate()
	}
	sum := 0.0
	for _, s := range c.series {
		total := 0.0
		for _, p := range s {
			total += p.v
		}
		sum += total / float64(len(s))
	}
	if len(c.series) == 0 {
		return 0, false
	}
	return sum / float64(len(c.series)), true
}

// rate is Average for a counter.
func (c *Controller) rate() (float64, bool) {
	var first, last time.Time
	inc := 0.0
	for _, s := range c.series {
		for i, p := range s {
			if first.IsZero() || p.t.Before(first) {
				first = p.t
			}
			if p.t.After(last) {
				last = p.t
			}
			switch {
			case i == 0:
			case p.v >= s[i-1].v:
				inc += p.v - s[i-1].v
			default:
				inc += p.v
			}
		}
	}
	span := last.Sub(first).Seconds()
	if span <= 0 {
		return 0, false
	}
	return inc / span / float64(len(c.series)), true
}

// A Decision is what the controller recommends for a service.
type Decision struct {
	From, To int
	Value    *float64 // the per-replica average; nil with none yet
	Reason   string   // for people: the observation, the target, and why
}

// Decide returns the count to run now, given the current count. With no
// average yet (see Average), it only brings current within [Min, Max].
func (c *Controller) Decide(now time.Time, current int) Decision {
	p := c.Policy
	d := Decision{From: current}
	avg, ok := c.Average()
	if !ok {
		d.To = clamp(current, p.Min, p.Max)
		d.Reason = fmt.Sprintf("no %s observed yet; keeping within %d-%d", c.what(), p.Min, p.Max)
		return d
	}
	d.Value = &avg
	desired := current
	if ratio := avg / p.Target; math.Abs(ratio-1) > Tolerance {
		desired = int(math.Ceil(float64(max(current, 1)) * ratio))
	}
	desired = clamp(desired, p.Min, p.Max)
	c.recs = append(c.recs, point{now, float64(desired)})
	from := now.Add(-p.Cooldown)
	i := 0
	for i < len(c.recs) && c.recs[i].t.Before(from) {
		i++
	}
	c.recs = c.recs[i:]
	d.Reason = fmt.Sprintf("%s per replica over %s, target %s", c.format(avg), p.Window, c.format(p.Target))
	if desired < current {
		highest := 0.0
		for _, r := range c.recs {
			highest = max(highest, r.v)
		}
		if held := min(current, int(highest)); held > desired {
			desired = held
			if held == current {
				d.Reason += fmt.Sprintf("; holding: %d was recommended within the %s cooldown", held, p.Cooldown)
			} else {
				d.Reason += fmt.Sprintf("; %d, the highest recommended within the %s cooldown", held, p.Cooldown)
			}
		}
	}
	d.To = desired
	return d
}

// Scaled records that a scale to count finished at now. The cooldown counts
// from then, as if count had been recommended at that moment: a scale that
// took a while (containers created, networks joined) would otherwise use up
// the cooldown before the new replicas had been observed once.
func (c *Controller) Scaled(now time.Time, count int) {
	c.recs = append(c.recs, point{now, float64(count)})
}

// what names the observed quantity.
func (c *Controller) what() string {
	switch {
	case c.Policy.Metric == CPU:
		return "CPU"
	case IsCounter(c.Policy.Metric):
		return "rate of " + c.Policy.Metric
	}
	return c.Policy.Metric
}

// format writes a value of the observed quantity with its unit.
func (c *Controller) format(v float64) string {
	switch {
	case c.Policy.Metric == CPU:
		return fmt.Sprintf("CPU %.1f%%", v)
	case IsCounter(c.Policy.Metric):
		return fmt.Sprintf("%.1f %s/s", v, c.Policy.Metric)
	}
	return fmt.Sprintf("%s %.4g", c.Policy.Metric, v)
}

func clamp(n, lo, hi int) int { return min(max(n, lo), hi) }
