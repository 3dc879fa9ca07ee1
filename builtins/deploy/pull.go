package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/engine"
)

// PullProgress returns the function a Target's PullImage reports a pull
// for rule to: each report is an image.pull event on bus.
func PullProgress(bus *engine.Bus, rule string) func(engine.PullState) {
	return func(p engine.PullState) {
		bus.Emit(engine.Event{Kind: engine.EventImagePull, Rule: rule, Pull: &p, Text: p.String()})
	}
}

// SelectPull returns the services and jobs of g whose images `ferry pull`
// pulls: those named, or, when names is empty, every one that names a
// registry image. It fails on a name that is not a service or job, or
// whose image an image() rule builds.
func SelectPull(g *engine.Graph, names []string) ([]*Rule, error) {
	var all []*Rule
	var allNames []string
	for _, n := range g.Names() {
		if r, ok := g.Rule(n).(*Rule); ok {
			all = append(all, r)
			allNames = append(allNames, n)
		}
	}
	if len(names) == 0 {
		var sel []*Rule
		for _, r := range all {
			if r.PullsImage() {
				sel = append(sel, r)
			}
		}
		return sel, nil
	}
	var sel []*Rule
	for _, n := range names {
		switch r := g.Rule(n).(type) {
		case *Rule:
			if !r.PullsImage() {
				return nil, fmt.Errorf("%s %q runs the image that the image() rule %q builds: ferry pull pulls registry images; `ferry up %s` builds it", r.info.Kind, n, r.spec.Image, n)
			}
			sel = append(sel, r)
		case nil:
			msg := fmt.Sprintf("no service or job %q in ferry.star", n)
			if s := engine.Suggest(n, allNames); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(allNames) > 0 {
				msg += "; its services and jobs are " + strings.Join(allNames, ", ")
			}
			return nil, errors.New(msg)
		default:
			return nil, fmt.Errorf("%q is a %s, not a service or job; ferry pull pulls the images of services and jobs", n, r.Info().Kind)
		}
	}
	return sel, nil
}

// A PullResult is what `ferry pull` did for one image.
type PullResult struct {
	Image    string   // the reference the rules name
	Rules    []string // the services and jobs that run it
	Resolved ResolvedImage
	Skipped  string // why it was not pulled ("" when it was)
}

// Pull pulls the images of rules from their registries, each image once,
// whatever its pull policy but "never", reporting progress as image.pull
// events on bus. What runs is left alone: `ferry up` then replaces the
// replicas of an older digest. Every image is tried; the error joins the
// failures.
func Pull(ctx context.Context, rules []*Rule, bus *engine.Bus) ([]PullResult, error) {
	var out []PullResult
	var first []*Rule // the first rule of each image, which reports its pull
	at := map[string]int{}
	for _, r := range rules {
		img := r.spec.Image
		if i, ok := at[img]; ok {
			out[i].Rules = append(out[i].Rules, r.info.Name)
			continue
		}
		at[img] = len(out)
		out = append(out, PullResult{Image: img, Rules: []string{r.info.Name}})
		first = append(first, r)
	}
	var errs []error
	for i, r := range first {
		res := &out[i]
		if r.spec.Pull == PullNever {
			res.Skipped = fmt.Sprintf("pull = %q", PullNever)
			continue
		}
		p, ok := r.Target().(ImagePuller)
		if !ok {
			return out, errors.New("the deploy target cannot pull images")
		}
		got, err := p.PullImage(ctx, res.Image, PullAlways, PullProgress(bus, r.info.Name))
		if err != nil {
			if ctx.Err() != nil {
				return out, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", strings.Join(res.Rules, ", "), err))
			continue
		}
		res.Resolved = got
	}
	return out, errors.Join(errs...)
}

// A PlannedImage is the registry image a service or job names, and what
// it resolves to in the target now.
type PlannedImage struct {
	Rule   string `json:"rule"`
	Image  string `json:"image"`
	Pull   string `json:"pull"`
	Digest string `json:"digest,omitempty"` // "" when the image came from no registry, or is missing
	ID     string `json:"id,omitempty"`
	// Missing says the target lacks the image: ferry up pulls it (or,
	// under pull = "never", fails).
	Missing bool `json:"missing,omitempty"`
}

// PlanImages says, for each service and job of g among names that runs
// a registry image, what the image resolves to in its target now, for
// `ferry plan`. It asks no registry.
func PlanImages(ctx context.Context, g *engine.Graph, names []string) ([]PlannedImage, error) {
	var out []PlannedImage
	for _, n := range names {
		r, ok := g.Rule(n).(*Rule)
		if !ok || !r.PullsImage() {
			continue
		}
		p, ok := r.Target().(ImagePuller)
		if !ok {
			continue
		}
		res, have, err := p.LocalImage(ctx, r.spec.Image)
		if err != nil {
			return out, err
		}
		out = append(out, PlannedImage{Rule: n, Image: r.spec.Image, Pull: r.spec.Pull, Digest: res.Digest, ID: res.ID, Missing: !have})
	}
	return out, nil
}
