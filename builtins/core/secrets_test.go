package core

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

// taskKey evaluates star with secrets and returns the definition digest of
// its first rule, a task.
func taskKey(t *testing.T, star string) engine.Digest {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(star), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{Plugin{}, &secret.Plugin{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHasher()
	if err := res.Rules[0].(*Task).Definition(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	return h.Sum()
}

func TestTaskKeyCountsSecretSourceNotValue(t *testing.T) {
	const star = `task(name = "t", cmd = "true", secrets = {"TOK": secret("tok", env = "FERRY_TEST_KEY_TOK")})`
	t.Setenv("FERRY_TEST_KEY_TOK", "first-long-value")
	first := taskKey(t, star)
	t.Setenv("FERRY_TEST_KEY_TOK", "second-long-value")
	if taskKey(t, star) != first {
		t.Error("the key changed with the secret's value: it must not depend on it (plan never reads secrets)")
	}
	for _, other := range []string{
		`task(name = "t", cmd = "true", secrets = {"TOK": secret("tok", env = "FERRY_TEST_KEY_OTHER")})`,
		`task(name = "t", cmd = "true", secrets = {"TOKEN": secret("tok", env = "FERRY_TEST_KEY_TOK")})`,
		`task(name = "t", cmd = "true", secrets = {"TOK": secret("tok2", env = "FERRY_TEST_KEY_TOK")})`,
		`task(name = "t", cmd = "true")`,
	} {
		if taskKey(t, other) == first {
			t.Errorf("%s has the same key", other)
		}
	}
}
