package scale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/engine"
)

// A Replica is one running container of a service, as the loop observes it.
type Replica struct {
	Name string
	// Addr is host:port where the metrics port answers from this machine;
	// AddrErr says why there is none.
	Addr    string
	AddrErr error
}

// A Scaler is what a target does for the loop.
type Scaler interface {
	// Replicas lists the service's running replicas, with where their
	// container port answers.
	Replicas(ctx context.Context, service string, port int) ([]Replica, error)
	// CPU returns how many replicas of the service run, and the CPU use,
	// in percent of one core, of those that have a figure yet, by name.
	CPU(ctx context.Context, service string) (running int, pct map[string]float64, err error)
	// Scale makes n replicas of the service run.
	Scale(ctx context.Context, service string, n int) error
}

// ErrScaledElsewhere, wrapped in what a Scaler returns, says that
// something other than ferry scales the service (a Kubernetes
// HorizontalPodAutoscaler): the loop says so once and ends.
var ErrScaledElsewhere = errors.New("scaled elsewhere")

// A Loop keeps services scaled as their policies say. It reports on Bus
// each decision as a service.scale event (with the measured value and the
// target, also when it keeps the count; said for people, at info level,
// when it changes it), the replicas it counts as service.replicas when
// the count changes, and each problem as a log line, once until it
// changes.
type Loop struct {
	Scaler Scaler
	Bus    *engine.Bus
}

// Run scales service by p until ctx ends, and returns ctx's error; it
// returns nil at once when the Scaler says that something else scales
// the service (see ErrScaledElsewhere).
func (l *Loop) Run(ctx context.Context, service string, p *Policy) error {
	c := NewController(service, p)
	tick := time.NewTicker(p.Tick())
	defer tick.Stop()
	said := ""
	var counted engine.ReplicaCount // the replicas last reported
	counted.Ready = -1
	for {
		err := l.step(ctx, c, &counted)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrScaledElsewhere):
			l.log(engine.LevelInfo, service, err.Error())
			return nil
		case err != nil && err.Error() != said:
			l.log(engine.LevelWarn, service, err.Error())
			said = err.Error()
		case err == nil && said != "":
			l.log(engine.LevelInfo, service, "observing "+c.what()+" again")
			said = ""
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// log emits a log line about service's autoscaling.
func (l *Loop) log(level, service, text string) {
	l.Bus.Emit(engine.Event{Kind: engine.EventLog, Level: level, Text: "autoscale " + service + ": " + text})
}

// replicas reports that n replicas of service run, of wanted, unless
// counted (updated) says so already.
func (l *Loop) replicas(service string, n, wanted int, counted *engine.ReplicaCount) {
	now := engine.ReplicaCount{Ready: n, Wanted: wanted}
	if now == *counted {
		return
	}
	*counted = now
	l.Bus.Emit(engine.Event{Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: service, Replicas: &now}})
}

// step observes the service once and applies the controller's decision;
// counted is the count of replicas last reported.
func (l *Loop) step(ctx context.Context, c *Controller, counted *engine.ReplicaCount) error {
	p, service := c.Policy, c.Service
	var values map[string]float64
	var current int
	if p.Metric == CPU {
		n, v, err := l.Scaler.CPU(ctx, service)
		if err != nil {
			return err
		}
		values, current = v, n
	} else {
		reps, err := l.Scaler.Replicas(ctx, service, p.Port)
		if err != nil {
			return err
		}
		if values, err = l.scrape(ctx, p, reps); err != nil {
			return err
		}
		current = len(reps)
	}
	if current == 0 {
		l.replicas(service, 0, p.Min, counted)
		return fmt.Errorf("no replica of %s runs, so there is nothing to scale: `ferry up` starts it, and Docker's restart policy restarts replicas that crash (see `ferry status`)", service)
	}
	c.Observe(time.Now(), values)
	d := c.Decide(time.Now(), current)
	l.replicas(service, current, d.To, counted)
	e := engine.Event{Kind: engine.EventServiceScale, Reason: d.Reason, Service: &engine.ServiceState{Name: service,
		Scale: &engine.ScaleDecision{Metric: p.Metric, Value: d.Value, Target: p.Target, From: d.From, To: d.To}}}
	if d.To == d.From {
		l.Bus.Emit(e)
		return nil
	}
	e.Level, e.Text = engine.LevelInfo, fmt.Sprintf("%d → %d replicas: %s", d.From, d.To, d.Reason)
	l.Bus.Emit(e)
	// A scale begun is finished, even when ctx ends meanwhile: a container
	// being created when its request is cancelled is created all the same,
	// after ferry has stopped looking.
	if err := l.Scaler.Scale(context.WithoutCancel(ctx), service, d.To); err != nil {
		return fmt.Errorf("scaling %s from %d to %d replicas: %w", service, d.From, d.To, err)
	}
	c.Scaled(time.Now(), d.To)
	l.replicas(service, d.To, d.To, counted)
	return nil
}

// scrape reads the policy's metric from every replica at once, summed over
// its label sets, each read bounded by a tick. A replica that cannot be scraped is left out (it may be
// starting); when none can, or the metric is missing, the error says why.
func (l *Loop) scrape(ctx context.Context, p *Policy, reps []Replica) (map[string]float64, error) {
	timeout := p.Tick()
	values := map[string]float64{}
	var errs []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range reps {
		wg.Go(func() {
			v, err := scrapeOne(ctx, p, r, timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			values[r.Name] = v
		})
	}
	wg.Wait()
	if len(values) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("cannot read %s from any replica: %s", p.Metric, strings.Join(errs, "; "))
	}
	return values, nil
}

func scrapeOne(ctx context.Context, p *Policy, r Replica, timeout time.Duration) (float64, error) {
	if r.AddrErr != nil {
		return 0, r.AddrErr
	}
	s, err := metrics.Scrape(ctx, "http://"+r.Addr+p.Path, timeout)
	if err != nil {
		return 0, err
	}
	v, err := s.Sum(p.Metric, nil)
	if err != nil {
		return 0, fmt.Errorf("%v; autoscale(metric = %q) names a metric the service does not serve: fix the name, or serve it", err, p.Metric)
	}
	return v, nil
}
