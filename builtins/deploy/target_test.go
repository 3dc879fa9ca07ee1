package deploy

import (
	"context"
	"testing"

	"github.com/ferryhq/ferry/engine"
)

// holderTarget holds one secret value in the replicas of every rule.
type holderTarget struct{ Target }

func (holderTarget) HeldSecrets(_ context.Context, r *Rule, learn func(name, value string)) error {
	learn("token", "held-by-"+r.Info().Name)
	return nil
}

func TestHeldSecrets(t *testing.T) {
	t.Parallel()
	learned := map[string]string{}
	learn := func(name, value string) { learned[name] = value }
	held := &Rule{info: engine.RuleInfo{Name: "web"}, plugin: &Plugin{Target: holderTarget{}}}
	if err := HeldSecrets(context.Background(), held, learn); err != nil {
		t.Fatal(err)
	}
	if learned["token"] != "held-by-web" {
		t.Fatalf("learned %v, want the value web's target holds", learned)
	}
	// A target that cannot say, and a rule that is not a service, hold none.
	clear(learned)
	silent := &Rule{info: engine.RuleInfo{Name: "db"}, plugin: &Plugin{Target: &fakeTarget{}}}
	for _, r := range []engine.Rule{silent, nil} {
		if err := HeldSecrets(context.Background(), r, learn); err != nil || len(learned) != 0 {
			t.Fatalf("HeldSecrets(%v) learned %v, %v; want nothing", r, learned, err)
		}
	}
}
