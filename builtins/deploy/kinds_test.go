package deploy

import "testing"

// kindMaker is the maker of one kind of target in a test: it makes one
// target for every environment, and records its owner and setup.
type kindMaker struct {
	target *bareTarget
	setup  TargetSetup
	owner  Owner
}

func (m *kindMaker) For(*Environment) Target { return m.target }
func (m *kindMaker) Own(o Owner)             { m.owner = o }

// The kinds the domains register make the targets of their environments,
// that of TargetDocker also the target of no environment, each with the
// setup given, and all owned by the workspace.
func TestNewTargetMakers(t *testing.T) {
	makers := map[string]*kindMaker{}
	kind := func(name string) TargetKind {
		return TargetKind{Name: name, New: func(s TargetSetup) TargetMaker {
			makers[name] = &kindMaker{target: &bareTarget{}, setup: s}
			return makers[name]
		}}
	}
	warned := ""
	setup := TargetSetup{Warn: func(msg string) { warned = msg }}
	ts := NewTargetMakers(setup, kind(TargetDocker), kind(TargetSwarm), kind(TargetKubernetes))
	o := Owner{ID: "w1", Path: "/w"}
	ts.Own(o)
	for name, want := range map[*Environment]string{
		nil:                                   TargetDocker,
		{Name: "dev", Target: TargetDocker}:   TargetDocker,
		{Name: "prod", Target: TargetSwarm}:   TargetSwarm,
		{Name: "k", Target: TargetKubernetes}: TargetKubernetes,
	} {
		if got := ts.For(name); got != Target(makers[want].target) {
			t.Errorf("For(%v) is not the target of kind %s", name, want)
		}
	}
	for name, m := range makers {
		if m.owner != o {
			t.Errorf("kind %s: owner %+v, want the workspace's", name, m.owner)
		}
		if m.setup.Warn("x"); warned != "x" {
			t.Errorf("kind %s was not made with the setup given", name)
		}
		warned = ""
	}
}
