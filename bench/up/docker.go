package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// A Container is what the bench checks of one container.
type Container struct {
	ID      string
	Name    string
	Status  string // running, exited, …
	Started string // State.StartedAt: changes when the container restarts
	Env     []string
	Ports   []string // published host ports
}

// containers inspects the containers that carry label (key=value).
func containers(ctx context.Context, label string) ([]Container, error) {
	ids, err := measure.Output(ctx, "docker", "ps", "-aq", "--no-trunc", "--filter", "label="+label)
	if err != nil {
		return nil, err
	}
	if len(strings.Fields(ids)) == 0 {
		return nil, nil
	}
	out, err := measure.Output(ctx, append([]string{"docker", "inspect"}, strings.Fields(ids)...)...)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		ID    string `json:"Id"`
		Name  string
		State struct {
			Status    string
			StartedAt string
		}
		Config          struct{ Env []string }
		NetworkSettings struct {
			Ports map[string][]struct{ HostIP, HostPort string }
		}
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	var list []Container
	for _, r := range raw {
		c := Container{ID: r.ID, Name: strings.TrimPrefix(r.Name, "/"), Status: r.State.Status, Started: r.State.StartedAt, Env: r.Config.Env}
		for _, bs := range r.NetworkSettings.Ports {
			for _, b := range bs {
				if b.HostPort != "" && !containsStr(c.Ports, b.HostPort) {
					c.Ports = append(c.Ports, b.HostPort)
				}
			}
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// identity is the containers' names, IDs and start times: equal before and
// after a no-op run when nothing was recreated or restarted.
func identity(list []Container) string {
	var sb strings.Builder
	for _, c := range list {
		fmt.Fprintf(&sb, "%s %s %s %s\n", c.Name, c.ID[:12], c.Status, c.Started)
	}
	return sb.String()
}

// checkServices checks that want services each run one container, with a
// published port that answers with the service's greeting.
func checkServices(ctx context.Context, list []Container, want int, greeting func(c Container) (string, bool)) error {
	if len(list) != want {
		return fmt.Errorf("%d containers, want %d:\n%s", len(list), want, identity(list))
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, c := range list {
		if c.Status != "running" {
			return fmt.Errorf("container %s is %s, want running", c.Name, c.Status)
		}
		if len(c.Ports) == 0 {
			return fmt.Errorf("container %s publishes no host port", c.Name)
		}
		g, ok := greeting(c)
		if !ok {
			return fmt.Errorf("container %s has no GREETING in its environment", c.Name)
		}
		url := "http://127.0.0.1:" + c.Ports[0] + "/"
		var last error
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err := get(ctx, client, url)
			if err == nil && got == g+"\n" {
				break
			}
			if err == nil {
				err = fmt.Errorf("answered %q, want %q", got, g+"\n")
			}
			last = err
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("container %s on host port %s: %v", c.Name, c.Ports[0], last)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// An Event is one entry of the Engine's event stream.
type Event struct {
	Type     string
	Action   string
	TimeNano int64 `json:"timeNano"`
	Actor    struct {
		ID         string
		Attributes map[string]string
	}
}

// engineEvents returns the events the Engine recorded between since and
// until (both in the past).
func engineEvents(ctx context.Context, since, until time.Time) ([]Event, error) {
	stamp := func(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }
	out, err := measure.Output(ctx, "docker", "events", "--since", stamp(since), "--until", stamp(until), "--format", "{{json .}}")
	if err != nil {
		return nil, err
	}
	var evs []Event
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("docker events: %w: %s", err, line)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// readOnly reports whether an event's action changes no state: execs,
// attaching, health probes and the like. Every other action (create,
// start, die, kill, stop, destroy, connect, disconnect, tag, untag, update,
// rename, mount, …) counts as mutating.
func readOnly(action string) bool {
	action, _, _ = strings.Cut(action, ":") // "health_status: healthy", "exec_start: sh"
	switch {
	case strings.HasPrefix(action, "exec_"), strings.HasPrefix(action, "health_status"):
		return true
	}
	switch action {
	case "attach", "detach", "top", "resize", "archive-path", "export", "save":
		return true
	}
	return false
}

// Owners of the objects an event is about.
type owners struct {
	ferryProject   string // containers, networks and volumes of the ferry workspace
	composeProject string // those of the compose baseline
	repo           string // the images ferry built
}

// owner says whose object an event is about: "ferry", "compose" or
// "other" (another program using the same Engine).
func (o owners) owner(e Event) string {
	a := e.Actor.Attributes
	name := a["name"]
	switch {
	case a["ferry.project"] == o.ferryProject,
		strings.HasPrefix(name, o.ferryProject+"-"), strings.HasPrefix(name, o.ferryProject+"_"),
		strings.HasPrefix(e.Actor.ID, o.ferryProject+"_"),
		e.Type == "image" && strings.HasPrefix(name, o.repo+":"):
		return "ferry"
	case a["com.docker.compose.project"] == o.composeProject,
		strings.HasPrefix(name, o.composeProject+"_"), strings.HasPrefix(e.Actor.ID, o.composeProject+"_"):
		return "compose"
	}
	return "other"
}

// EventCount is the events of one window, sorted by owner.
type EventCount struct {
	Total         int      `json:"total"`
	Mutating      int      `json:"mutating"`       // about the measured tool's objects
	OtherMutating int      `json:"other_mutating"` // about objects of other programs on the Engine
	Seen          []string `json:"mutating_events,omitempty"`
	OtherSeen     []string `json:"other_events,omitempty"`
}

// countEvents sorts the mutating events of a window into the measured
// tool's (who) and everyone else's.
func countEvents(evs []Event, o owners, who string) EventCount {
	var c EventCount
	c.Total = len(evs)
	for _, e := range evs {
		if readOnly(e.Action) {
			continue
		}
		desc := fmt.Sprintf("%s %s %s", e.Type, e.Action, describe(e))
		if o.owner(e) == who {
			c.Mutating++
			c.Seen = append(c.Seen, desc)
			continue
		}
		c.OtherMutating++
		if len(c.OtherSeen) < 8 {
			c.OtherSeen = append(c.OtherSeen, desc)
		}
	}
	return c
}

func describe(e Event) string {
	if n := e.Actor.Attributes["name"]; n != "" {
		return n
	}
	if len(e.Actor.ID) > 24 {
		return e.Actor.ID[:12]
	}
	return e.Actor.ID
}

// composeCommand finds Compose: the `docker compose` plugin, or the
// standalone docker-compose. It returns nil when neither is installed.
func composeCommand(ctx context.Context) ([]string, string) {
	for _, argv := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		out, err := measure.Output(ctx, append(argv, "version")...)
		if err == nil {
			first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
			return argv, first
		}
	}
	return nil, ""
}
