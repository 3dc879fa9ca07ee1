package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
	"go.starlark.net/starlark"
)

// fakeSecret's value can be changed between runs; reads counts Reveal and
// Keyed calls, so a test can tell that plan never read it.
type fakeSecret struct {
	starlark.Value
	value           string // "" with absent: no value
	absent, missing bool
	reads           int
}

func (s *fakeSecret) SecretName() string { return "tok" }
func (s *fakeSecret) Source() string     { return "fake" }
func (s *fakeSecret) Reveal(context.Context) (string, error) {
	s.reads++
	switch {
	case s.absent:
		return "", ErrSecretAbsent
	case s.missing:
		return "", errors.New(`secret "tok" (from fake): not set`)
	}
	return s.value, nil
}
func (s *fakeSecret) Keyed(ctx context.Context, _ *Workspace) (string, error) {
	v, err := s.Reveal(ctx)
	return "hmac(" + v + ")", err
}

type secretRule struct {
	testRule
	secret *fakeSecret
}

func (r *secretRule) Secrets() []Secret { return []Secret{r.secret} }

// A rotated secret value reruns the rule that passes it on, and its
// dependents, at run time; plan neither reads it nor sees the change.
func TestRotatedSecretReruns(t *testing.T) {
	sec := &fakeSecret{Value: starlark.None, value: "v1"}
	deploy := &secretRule{testRule: testRule{info: RuleInfo{Name: "deploy", Kind: "task", Default: true}}, secret: sec}
	after := &testRule{info: RuleInfo{Name: "after", Kind: "task", Deps: []string{"deploy"}, Default: true}}
	e, _ := newTestEngine(t, nil)
	g, err := NewGraph([]Rule{deploy, after})
	if err != nil {
		t.Fatal(err)
	}
	e.Graph = g
	ctx := context.Background()
	run := func() *Summary {
		t.Helper()
		e = reopen(t, e)
		sum, err := e.Run(ctx, nil, RunOptions{Jobs: 1})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	plan := func() []PlanItem {
		t.Helper()
		reads := sec.reads
		items, err := e.Plan(ctx, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if sec.reads != reads {
			t.Fatalf("plan read the secret %d times", sec.reads-reads)
		}
		return items
	}
	if sum := run(); strings.Join(sum.Ran, ",") != "deploy,after" {
		t.Fatalf("first run: %+v", sum)
	}
	if sum := run(); len(sum.Ran) != 0 {
		t.Fatalf("unchanged secret reran: %+v", sum)
	}
	if items := plan(); items[0].Run || items[1].Run {
		t.Fatalf("unchanged secret planned to run: %+v", items)
	}

	for _, c := range []struct {
		change func()
		reason string
	}{
		{func() { sec.value = "v2" }, "secret tok from fake changed"},
		{func() { sec.absent = true }, "secret tok from fake no longer has a value"},
		{func() { sec.absent = false }, "secret tok from fake now has a value"},
	} {
		c.change()
		if items := plan(); items[0].Run {
			t.Fatalf("plan saw a secret change it cannot know of: %+v", items)
		}
		e = reopen(t, e)
		var reasons []string
		e.Events = NewBus(redact.New(), SinkFunc(func(ev Event) {
			if ev.Kind == EventRuleStart {
				reasons = append(reasons, ev.Rule+": "+ev.Reason)
			}
		}))
		sum, err := e.Run(ctx, nil, RunOptions{Jobs: 1})
		if err != nil || strings.Join(sum.Ran, ",") != "deploy,after" {
			t.Fatalf("%s: %+v, %v", c.reason, sum, err)
		}
		if want := "deploy: " + c.reason; reasons[0] != want {
			t.Errorf("reason %q, want %q", reasons[0], want)
		}
		if sum := run(); len(sum.Ran) != 0 {
			t.Fatalf("%s: second run reran: %+v", c.reason, sum)
		}
	}

	// A required secret without a value fails the rule even when nothing
	// else changed.
	sec.missing = true
	e = reopen(t, e)
	var failed string
	e.Events = NewBus(redact.New(), SinkFunc(func(ev Event) {
		if ev.Kind == EventRuleFail {
			failed = ev.Err
		}
	}))
	if _, err := e.Run(ctx, nil, RunOptions{}); !errors.Is(err, ErrFailed) || !strings.Contains(failed, `task "deploy": secret "tok" (from fake): not set`) {
		t.Fatalf("missing secret: %v, %q", err, failed)
	}
}
