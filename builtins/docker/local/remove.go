package local

import (
	"context"
	"slices"

	"github.com/ferryhq/ferry/builtins/docker/objects"
)

// noteDeployed records that this Target deployed (started or replaced)
// the service rule of project.
func (t *Target) noteDeployed(project, rule string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deployed == nil {
		t.deployed = map[string][]string{}
	}
	if !slices.Contains(t.deployed[project], rule) {
		t.deployed[project] = append(t.deployed[project], rule)
	}
}

// RemoveDeployed removes the containers of the services of project that
// this Target deployed (started or replaced), and returns the names of
// those it removed. When it deployed none, it makes no Engine call.
func (t *Target) RemoveDeployed(ctx context.Context, project string) ([]string, error) {
	t.mu.Lock()
	rules := slices.Clone(t.deployed[project])
	t.mu.Unlock()
	if len(rules) == 0 {
		return nil, nil
	}
	t.changed(project)
	defer t.changed(project)
	list, err := t.containers(ctx, project)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, c := range list {
		if c.Labels[objects.LabelKind] != "service" || !slices.Contains(rules, c.Labels[objects.LabelRule]) {
			continue
		}
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return removed, err
		}
		removed = append(removed, c.Name)
	}
	return removed, nil
}
