package deploy

import (
	"fmt"

	"go.starlark.net/starlark"
)

// Update orders for UpdatePolicy.Order, as Swarm names them.
const (
	StartFirst = "start-first"
	StopFirst  = "stop-first"
)

// An UpdatePolicy says how a changed service of several replicas is
// rolled out: Parallelism replicas at a time, each new one started beside
// the old one it replaces (start-first) or after it stopped (stop-first).
type UpdatePolicy struct {
	Order       string // StartFirst, StopFirst, or "": stop-first with a fixed host port, else start-first
	Parallelism int    // replicas replaced at once, 1 or more
}

// UpdateOrder is the order the service's rollout follows: the declared
// one, else stop-first when it publishes a fixed host port, which an old
// and a new replica cannot both bind, else start-first.
func (s *ServiceSpec) UpdateOrder() string {
	if s.Update.Order != "" {
		return s.Update.Order
	}
	for _, p := range s.Ports {
		if p.HostStart != 0 {
			return StopFirst
		}
	}
	return StartFirst
}

// parseUpdate reads service(update = {"order": …, "parallelism": …}).
func parseUpdate(v starlark.Value) (UpdatePolicy, error) {
	u := UpdatePolicy{Parallelism: 1}
	if v == nil {
		return u, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return u, fmt.Errorf("got %s, want a dict such as {\"order\": \"stop-first\", \"parallelism\": 2}", v.Type())
	}
	for _, item := range d.Items() {
		k, _ := starlark.AsString(item[0])
		switch k {
		case "order":
			order, ok := starlark.AsString(item[1])
			if !ok || order != StartFirst && order != StopFirst {
				return u, fmt.Errorf("order: got %s, want %q or %q", item[1], StartFirst, StopFirst)
			}
			u.Order = order
		case "parallelism":
			n, err := starlark.AsInt32(item[1])
			if err != nil || n < 1 {
				return u, fmt.Errorf("parallelism: got %s, want a number of replicas, 1 or more", item[1])
			}
			u.Parallelism = n
		default:
			return u, fmt.Errorf("unknown key %s: want order or parallelism", item[0])
		}
	}
	return u, nil
}

// validateUpdate checks the policy against the rest of the spec.
func (s *ServiceSpec) validateUpdate() error {
	if s.Update.Order != StartFirst {
		return nil
	}
	for _, p := range s.Ports {
		if p.HostStart != 0 {
			return fmt.Errorf("update: order %q starts each new replica beside the old one, which holds the fixed host port of %q; use %q, or publish %q so each replica gets a free host port",
				StartFirst, p.String(), StopFirst, fmt.Sprint(p.Container))
		}
	}
	return nil
}
