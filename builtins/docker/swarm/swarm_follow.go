package swarm

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// swarmFollowEvery is how often Target.Follow looks at the project's
// tasks.
const swarmFollowEvery = time.Second

var _ deploy.Follower = (*Target)(nil)

// Follow reports what happens to the project's swarm services on bus
// until ctx ends: a task that failed or was rejected after Follow began
// (service.exit: its exit code or the swarm's error, its last log lines)
// and, when the service's restart policy makes the swarm start a new task
// in its place, that restart (service.restart, without text); and a slot
// whose tasks keep failing, a crash loop (service.crashloop: local.LoopRestarts
// failures within local.LoopWindow), reported at most once every local.LoopQuiet, its
// single failures not at all. Tasks shut down on purpose (an update, a
// scale step, ferry down) are not reported. It polls the swarm's task
// list, which holds the tasks of every node, and reads log lines through
// the swarm. When listing the tasks fails, it logs so and tries again. It
// returns ctx's error.
func (t *Target) Follow(ctx context.Context, project string, bus *engine.Bus) error {
	start := time.Now()
	reported := map[string]bool{}        // failed tasks already reported, by ID
	failures := map[string][]time.Time{} // by task name (service.slot), within local.LoopWindow
	loopSaid := map[string]time.Time{}
	broken := false
	for {
		listed := map[string]bool{}
		err := t.eachTask(ctx, project, func(s dockerapi.Service, task dockerapi.Task) {
			listed[task.ID] = true
			if (task.State != "failed" && task.State != "rejected") || !task.Timestamp.After(start) || reported[task.ID] {
				return
			}
			reported[task.ID] = true
			rule := s.Labels[objects.LabelRule]
			name := fmt.Sprintf("%s.%d", s.Name, task.Slot)
			policy := s.Spec.TaskTemplate.RestartPolicy
			restarted := !s.Job && (policy == nil || policy.Condition != swarm.RestartPolicyConditionNone)
			times := append(failures[name], task.Timestamp)
			for len(times) > 0 && task.Timestamp.Sub(times[0]) > local.LoopWindow {
				times = times[1:]
			}
			failures[name] = times
			var exit *engine.ExitState
			if task.State == "failed" && task.ExitCode != 0 {
				exit = &engine.ExitState{Code: task.ExitCode}
			}
			switch n := len(times); {
			case n >= local.LoopRestarts && task.Timestamp.Sub(loopSaid[name]) >= local.LoopQuiet:
				loopSaid[name] = task.Timestamp
				reason := fmt.Sprintf("task %s is in a crash loop: its tasks failed %d times in %s, last %s", name, n, times[n-1].Sub(times[0]).Round(100*time.Millisecond), taskFailure(task))
				bus.Emit(engine.Event{Kind: engine.EventServiceCrashLoop, Level: engine.LevelError, Reason: reason,
					Text:    fmt.Sprintf("%s (ferry says so again every %s while it lasts; `ferry --env %s logs %s` shows more)%s", reason, local.LoopQuiet, t.env.Name, rule, t.taskLines(ctx, task)),
					Service: &engine.ServiceState{Name: rule, Replica: name, Restarts: n, Exit: exit}})
			case n >= local.LoopRestarts:
			default:
				reason := fmt.Sprintf("task %s %s", name, taskFailure(task))
				text := reason
				if restarted {
					text += "; the swarm starts a new task in its place"
				}
				bus.Emit(engine.Event{Kind: engine.EventServiceExit, Level: engine.LevelWarn, Reason: reason, Text: text + t.taskLines(ctx, task),
					Service: &engine.ServiceState{Name: rule, Replica: name, Exit: exit}})
			}
			if restarted {
				bus.Emit(engine.Event{Kind: engine.EventServiceRestart, Service: &engine.ServiceState{Name: rule, Replica: name, Restarts: len(times)}})
			}
		})
		if err == nil {
			// The swarm keeps a few tasks a slot: forget those it dropped.
			maps.DeleteFunc(reported, func(id string, _ bool) bool { return !listed[id] })
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !broken:
			bus.Logf(engine.LevelWarn, "%v; ferry tries again every %s", err, swarmFollowEvery)
			broken = true
		case err == nil && broken:
			bus.Logf(engine.LevelInfo, "following the swarm's tasks again")
			broken = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(swarmFollowEvery):
		}
	}
}

// eachTask calls f with each task of the project's swarm services.
func (t *Target) eachTask(ctx context.Context, project string, f func(dockerapi.Service, dockerapi.Task)) error {
	list, err := t.services(ctx, project)
	if err != nil {
		return err
	}
	for _, s := range list {
		tasks, err := t.c.Tasks(ctx, s.ID)
		if err != nil {
			return err
		}
		for _, task := range tasks {
			f(s, task)
		}
	}
	return nil
}
