package engine

import (
	"slices"
	"strings"
	"testing"

	"go.starlark.net/syntax"
)

func TestChildEnv(t *testing.T) {
	hideTok := func(name string) bool { return name == "TOK" }
	tests := []struct {
		name    string
		environ []string
		extra   map[string]string
		want    []string
	}{
		{"hides the source", []string{"PATH=/bin", "TOK=v", "HOME=/h"}, nil, []string{"PATH=/bin", "HOME=/h"}},
		{"hides by exact name", []string{"TOKEN=a", "MY_TOK=b", "tok=c", "TOK="}, nil, []string{"TOKEN=a", "MY_TOK=b", "tok=c"}},
		{"a value holding the name stays", []string{"A=TOK=v"}, nil, []string{"A=TOK=v"}},
		{"given back on purpose", []string{"TOK=v", "PATH=/bin"}, map[string]string{"TOK": "v"}, []string{"PATH=/bin", "TOK=v"}},
		{"extra replaces, sorted", []string{"B=1", "A=1", "C=1"}, map[string]string{"C": "2", "A": "2"}, []string{"B=1", "A=2", "C=2"}},
		{"no environment", nil, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChildEnv(tt.environ, hideTok, tt.extra); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvironHidesSecretSources(t *testing.T) {
	t.Setenv("FERRY_TEST_SOURCE", "the-long-value")
	t.Setenv("FERRY_TEST_PLAIN", "plain")
	ev := &Evaluation{env: map[string]string{}}
	if !slices.Contains(ev.Environ(nil), "FERRY_TEST_SOURCE=the-long-value") {
		t.Fatal("before any secret, the variable is passed on")
	}
	if err := ev.DeclareSecretEnv("FERRY_TEST_SOURCE", &fakeSecret{}); err != nil {
		t.Fatal(err)
	}
	env := ev.Environ(map[string]string{"X": "1"})
	for _, kv := range env {
		if strings.HasPrefix(kv, "FERRY_TEST_SOURCE=") {
			t.Errorf("a secret's source reaches a child: %s", kv)
		}
	}
	if !slices.Contains(env, "FERRY_TEST_PLAIN=plain") || !slices.Contains(env, "X=1") {
		t.Errorf("other variables are lost: %q", env)
	}
	if !slices.Contains(ev.Environ(map[string]string{"FERRY_TEST_SOURCE": "given"}), "FERRY_TEST_SOURCE=given") {
		t.Error("a variable given explicitly is left out")
	}
	var none *Evaluation
	if !slices.Contains(none.Environ(nil), "FERRY_TEST_SOURCE=the-long-value") {
		t.Error("a nil Evaluation declared no secret, and hides nothing")
	}
}

func TestGetenvOfSecretSource(t *testing.T) {
	t.Setenv("FERRY_TEST_SOURCE", "the-long-value")
	at := func(line int32) syntax.Position { return syntax.MakePosition(new("ferry.star"), line, 1) }

	ev := &Evaluation{env: map[string]string{}}
	s := &fakeSecret{}
	if err := ev.DeclareSecretEnv("FERRY_TEST_SOURCE", s); err != nil {
		t.Fatal(err)
	}
	if v, ok := ev.Getenv("FERRY_TEST_SOURCE", at(2)); !ok || v != s {
		t.Errorf("after the declaration: got %v, %v, want the secret", v, ok)
	}
	if _, recorded := ev.env["FERRY_TEST_SOURCE"]; recorded {
		t.Error("the value was recorded as an input of the evaluation")
	}
	if err := ev.DeclareSecretEnv("FERRY_TEST_SOURCE", &fakeSecret{}); err != nil {
		t.Errorf("a second secret from the same variable: %v", err)
	}
	if v, _ := ev.Getenv("FERRY_TEST_SOURCE", at(3)); v != s {
		t.Errorf("got %v, want the first secret declared", v)
	}

	ev = &Evaluation{env: map[string]string{}}
	if v, ok := ev.Getenv("FERRY_TEST_SOURCE", at(1)); !ok || v.String() != `"the-long-value"` {
		t.Errorf("before any declaration: got %v, %v, want the value", v, ok)
	}
	err := ev.DeclareSecretEnv("FERRY_TEST_SOURCE", s)
	wantErr(t, err, "FERRY_TEST_SOURCE is read as a string by os.env at ferry.star:1:1", "declare the secret first")
	if err != nil && strings.Contains(err.Error(), "the-long-value") {
		t.Errorf("the error shows the value: %v", err)
	}

	// Unset, there is nothing to leak.
	ev = &Evaluation{env: map[string]string{}}
	if _, ok := ev.Getenv("FERRY_TEST_UNSET_SOURCE", at(1)); ok {
		t.Fatal("an unset variable is set")
	}
	if err := ev.DeclareSecretEnv("FERRY_TEST_UNSET_SOURCE", s); err != nil {
		t.Errorf("an unset variable read first: %v", err)
	}
	if _, ok := ev.Getenv("FERRY_TEST_UNSET_SOURCE", at(2)); ok {
		t.Error("the secret of an unset variable is given")
	}
}
