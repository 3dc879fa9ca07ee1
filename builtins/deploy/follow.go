package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// A Follower follows a project's running services until ctx ends, and
// reports what happens to them on bus as service events: a replica that
// died (service.exit), a restart by the target's restart policy
// (service.restart), a crash loop (service.crashloop), a health check
// that started or stopped failing (service.health); with Text for people
// when there is something to say. It only watches: restarting a crashed
// replica is the target's restart policy's job, never the follower's.
type Follower interface {
	Follow(ctx context.Context, project string, bus *engine.Bus) error
}

// StatusEvery is how often a follower samples the services' status (see
// SampleStatus).
const StatusEvery = 5 * time.Second

// SampleStatus reports on bus, until ctx ends, each change of the replicas
// (service.replicas: running, of declared) and of the health
// (service.health, with why when not healthy) of the project's services
// on t, as `ferry status` shows them, looking every every. Its first look
// reports every service. A failed look is logged at debug level.
func SampleStatus(ctx context.Context, t Target, project string, bus *engine.Bus, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	replicas := map[string]engine.ReplicaCount{}
	health := map[string]string{}
	for {
		list, err := t.Status(ctx, project)
		if err != nil && ctx.Err() == nil {
			bus.Logf(engine.LevelDebug, "sampling the services' status: %v", err)
		}
		for _, st := range list {
			n := engine.ReplicaCount{Ready: st.Replicas, Wanted: st.Desired}
			if old, ok := replicas[st.Name]; !ok || old != n {
				replicas[st.Name] = n
				bus.Emit(engine.Event{Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: st.Name, Replicas: &n}})
			}
			if st.Health != "" && st.Health != health[st.Name] {
				health[st.Name] = st.Health
				bus.Emit(engine.Event{Kind: engine.EventServiceHealth, Reason: st.HealthError, Service: &engine.ServiceState{Name: st.Name, Health: st.Health}})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// WaitEvent returns the service event that says how a wait for the
// health of service (WaitHealthy) that ended with err found it: healthy;
// in a crash loop (a *CrashLoopError: a replica restarted before it was
// ready); or else unhealthy, err saying why.
// The event has no text: the wait's own log and error say it for people.
func WaitEvent(service string, err error) engine.Event {
	st := &engine.ServiceState{Name: service, Health: Healthy}
	e := engine.Event{Kind: engine.EventServiceHealth, Service: st}
	var loop *CrashLoopError
	switch {
	case errors.As(err, &loop):
		e.Kind, st.Health = engine.EventServiceCrashLoop, ""
		st.Replica, st.Restarts, st.Exit = loop.Replica, loop.Restarts, loop.Exit
	case err != nil:
		st.Health = Unhealthy
	}
	if err != nil {
		e.Reason = err.Error()
	}
	return e
}
