package deploy

import "github.com/ferryhq/ferry/engine"

// PullProgress returns the function a Target's PullImage reports a pull
// for rule to: each report is an image.pull event on bus.
func PullProgress(bus *engine.Bus, rule string) func(engine.PullState) {
	return func(p engine.PullState) {
		bus.Emit(engine.Event{Kind: engine.EventImagePull, Rule: rule, Pull: &p, Text: p.String()})
	}
}
