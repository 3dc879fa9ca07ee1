package deploy

import "github.com/ferryhq/ferry/engine/redact"

// TargetSetup is what the CLI gives every kind of target, once per
// command, to make its targets with.
type TargetSetup struct {
	// Redactor removes secret values from the output that the targets
	// show (nothing when nil).
	Redactor *redact.Redactor
	// Warn receives what the user should know but that does not stop a
	// deployment (a swarm of several nodes, say).
	Warn func(string)
}

// A TargetKind is how a domain registers a kind of target with the CLI:
// the kind's name, as environment(target = ...) gives it (TargetDocker,
// TargetSwarm, TargetKubernetes), and what makes its TargetMaker. The
// CLI knows the kinds only through these.
type TargetKind struct {
	Name string
	New  func(TargetSetup) TargetMaker
}

// NewTargetMakers makes the TargetMaker of each kind with s: that of
// TargetDocker, the local Docker Engine, is also Local, the maker of the
// target of no environment.
func NewTargetMakers(s TargetSetup, kinds ...TargetKind) TargetMakers {
	t := TargetMakers{ByKind: map[string]TargetMaker{}}
	for _, k := range kinds {
		m := k.New(s)
		t.ByKind[k.Name] = m
		if k.Name == TargetDocker {
			t.Local = m
		}
	}
	return t
}

// Own makes every maker that is Owned label what its targets create as
// the workspace o's, and refuse to touch another workspace's objects.
func (t TargetMakers) Own(o Owner) {
	for _, m := range t.ByKind {
		if ow, ok := m.(Owned); ok {
			ow.Own(o)
		}
	}
}
