package deploy

// The text that ferry status, plan, pull and render print of what this
// package reports.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// WriteStatusJSON prints list as `ferry status --json` does: indented,
// with the field names of ServiceStatus, and <, > and & as they are.
func WriteStatusJSON(w io.Writer, list []ServiceStatus) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(list)
}

// WriteStatus prints list, the services of project, as the table of
// `ferry status`, uptimes counted up to now, followed by why services are
// not healthy.
func WriteStatus(w io.Writer, project string, list []ServiceStatus, now time.Time) error {
	if len(list) == 0 {
		_, err := fmt.Fprintf(w, "project %s has no services running; `ferry up` starts them\n", project)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tREPLICAS\tHEALTH\tPORTS\tIMAGE\tUPTIME\tRESTARTS")
	for _, s := range list {
		health, up := s.Health, ""
		if health == "" {
			health = "-"
		}
		if !s.Started.IsZero() && s.Replicas > 0 {
			up = now.Sub(s.Started).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.State, s.Replicas, s.Desired, health, strings.Join(s.Ports, ","), s.imageColumn(), up, s.Restarts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range list {
		if s.HealthError != "" {
			fmt.Fprintf(w, "%s is %s: %s\n", s.Name, s.Health, s.HealthError)
		}
		if s.Scaling != "" {
			fmt.Fprintf(w, "%s is autoscaled by %s\n", s.Name, s.Scaling)
		}
		for _, c := range s.Unadopted {
			fmt.Fprintf(w, "%s: %s is the new replica of a rollout that stopped; it is not counted, and the next `ferry up` removes it\n", s.Name, c)
		}
	}
	return nil
}

// imageColumn is a status's image, with the short digest it resolved to
// when it came from a registry and its reference does not pin it.
func (s ServiceStatus) imageColumn() string {
	_, d, ok := strings.Cut(s.Digest, "@sha256:")
	if !ok || len(d) < 12 || strings.Contains(s.Image, "@sha256:") {
		return s.Image
	}
	return s.Image + " (sha256:" + d[:12] + ")"
}

// WriteLeftToUp says, after a plan of g's default rules, which services
// and jobs it left out: they are `ferry up`'s, and a plan names them to
// include them.
func WriteLeftToUp(w io.Writer, g *engine.Graph) {
	var left []string
	for _, n := range g.Names() {
		if IsDeploy(g.Rule(n)) {
			left = append(left, n)
		}
	}
	switch len(left) {
	case 0:
	case 1:
		fmt.Fprintf(w, "1 service or job is left to `ferry up`: `ferry plan %s` plans it\n", left[0])
	default:
		fmt.Fprintf(w, "%d services and jobs are left to `ferry up`: `ferry plan %s` plans them\n", len(left), strings.Join(left, " "))
	}
}

// WriteImagesOfPlan prints, after the plan items, the registry images of
// their services and jobs as WritePlanImages does (see PlanImages), or
// why they could not be looked up: that does not fail the plan.
func WriteImagesOfPlan(ctx context.Context, w io.Writer, g *engine.Graph, items []engine.PlanItem) {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Rule
	}
	imgs, err := PlanImages(ctx, g, names)
	if err != nil {
		fmt.Fprintf(w, "images: %v\n", err)
		return
	}
	WritePlanImages(w, imgs)
}

// WritePlanImages prints, after a plan, the registry images of its
// services and jobs and the digest each resolves to in the target now,
// or that up pulls it.
func WritePlanImages(w io.Writer, imgs []PlannedImage) {
	if len(imgs) == 0 {
		return
	}
	fmt.Fprintln(w, "images:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, im := range imgs {
		var what string
		switch {
		case im.Missing && im.Pull == PullNever:
			what = `not in the Engine, and pull = "never": up fails`
		case im.Missing:
			what = "not in the Engine: up pulls it"
		case im.Digest != "":
			what = im.Digest
		default:
			what = im.ID + " (from no registry)"
		}
		if im.Pull == PullAlways {
			what += `; pull = "always": up asks the registry`
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", im.Rule, im.Image, what)
	}
	tw.Flush()
}

// Message says what the pull did, for `ferry pull`; "" when there is
// nothing to say.
func (r PullResult) Message() string {
	who := strings.Join(r.Rules, ", ")
	switch {
	case r.Skipped != "":
		return fmt.Sprintf("%s: %s not pulled: %s", who, r.Image, r.Skipped)
	case r.Resolved.ID == "":
		return ""
	case r.Resolved.Pulled:
		return fmt.Sprintf("%s: pulled %s (%s); ferry up replaces what runs an older image", who, r.Image, r.Resolved.digestOrID())
	}
	return fmt.Sprintf("%s: %s is up to date (%s)", who, r.Image, r.Resolved.digestOrID())
}

// digestOrID is the digest an image resolved to, or its ID when it came
// from no registry.
func (r ResolvedImage) digestOrID() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.ID
}

// Enabled returns the services and jobs of g that its profiles enable:
// those `ferry render` and `ferry diff` show.
func Enabled(g *engine.Graph) []string {
	var names []string
	for _, n := range g.Names() {
		if r := g.Rule(n); IsDeploy(r) && g.ProfileEnabled(r.Info()) {
			names = append(names, n)
		}
	}
	return names
}

// WriteManifests writes the manifests that Render returns: to w, each
// headed by its file name, in the order of their names, when dir is "";
// else each to its file in dir, saying so on w.
func WriteManifests(w io.Writer, dir string, files map[string][]byte) error {
	for _, f := range slices.Sorted(maps.Keys(files)) {
		if dir == "" {
			fmt.Fprintf(w, "---\n# %s\n%s", f, files[f])
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[f], 0o644); err != nil {
			return err
		}
	}
	if dir != "" {
		fmt.Fprintf(w, "wrote %d manifests to %s\n", len(files), dir)
	}
	return nil
}
