package docker

import "context"

// RemoveServices removes the containers of the project's services named in
// rules (jobs, and rules that are not services, are left alone), and
// returns the names of those it removed.
func (t *Target) RemoveServices(ctx context.Context, project string, rules []string) ([]string, error) {
	t.changed(project)
	defer t.changed(project)
	list, err := t.containers(ctx, project)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range rules {
		want[r] = true
	}
	var removed []string
	for _, c := range list {
		if c.Labels[labelKind] != "service" || !want[c.Labels[labelRule]] {
			continue
		}
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return removed, err
		}
		removed = append(removed, c.Name)
	}
	return removed, nil
}
