package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine/redact"
)

// newTestEngine returns an engine over rules in a temp workspace with files.
func newTestEngine(t *testing.T, files map[string]string, rs ...*testRule) (*Engine, *[]Event) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	ws := &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
	var list []Rule
	for _, r := range rs {
		list = append(list, r)
	}
	g, err := NewGraph(list)
	if err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	return NewEngine(ws, g, st, NewBus(redact.New(), SinkFunc(func(e Event) { events = append(events, e) }))), &events
}

// reopen simulates the next ferry process: state saved and loaded again.
func reopen(t *testing.T, e *Engine) *Engine {
	t.Helper()
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(e.Workspace, true)
	if err != nil {
		t.Fatal(err)
	}
	return NewEngine(e.Workspace, e.Graph, st, e.Events)
}

func age(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
}

func TestIncremental(t *testing.T) {
	gen := &testRule{info: RuleInfo{Name: "gen", Kind: "rule", Default: true}, def: "v1", srcs: []string{"src"}, outs: []string{"gen.out"}}
	api := &testRule{info: RuleInfo{Name: "api", Kind: "rule", Deps: []string{"gen"}, Default: true}, def: "v1", srcs: []string{"api.go"}}
	e, _ := newTestEngine(t, map[string]string{"src/a.go": "a", "src/b.go": "b", "api.go": "api"}, gen, api)
	age(t, e.Workspace.Root)
	ctx := context.Background()

	sum, err := e.Run(ctx, []string{"api"}, RunOptions{})
	if err != nil || len(sum.Ran) != 2 {
		t.Fatalf("first run: %+v, %v", sum, err)
	}

	// No change: nothing runs. Outputs written in the racy window are
	// hashed once more; after that a no-op run reads no file at all.
	time.Sleep(racyWindow)
	e = reopen(t, e)
	if _, err := e.Run(ctx, []string{"api"}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	e = reopen(t, e)
	sum, err = e.Run(ctx, []string{"api"}, RunOptions{})
	if err != nil || len(sum.Cached) != 2 || len(sum.Ran) != 0 {
		t.Fatalf("no-op run: %+v, %v", sum, err)
	}
	if _, hashed := e.Index.Counts(); hashed != 0 {
		t.Errorf("no-op run hashed %d files, want 0", hashed)
	}

	// touch without a change reruns nothing.
	now := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(e.Workspace.Root, "src/a.go"), now, now)
	e = reopen(t, e)
	if items, _ := e.Plan(ctx, []string{"api"}, false); items[0].Run || items[1].Run {
		t.Errorf("plan after touch: %+v", items)
	}

	// A changed source reruns its rule and dependents, with reasons.
	writeFiles(t, e.Workspace.Root, map[string]string{"src/a.go": "a2"})
	e = reopen(t, e)
	items, _ := e.Plan(ctx, []string{"api"}, false)
	if got := ReasonText(items[0].Reasons); got != "src/a.go changed" {
		t.Errorf("gen reason = %q", got)
	}
	if got := ReasonText(items[1].Reasons); got != "dep gen changed" {
		t.Errorf("api reason = %q", got)
	}
	if _, err := e.Run(ctx, []string{"api"}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if gen.runs != 2 || api.runs != 2 {
		t.Errorf("runs gen=%d api=%d, want 2 and 2", gen.runs, api.runs)
	}

	// A missing output reruns only its rule: its key is unchanged, so
	// dependents stay up to date.
	os.Remove(filepath.Join(e.Workspace.Root, "gen.out"))
	e = reopen(t, e)
	items, _ = e.Plan(ctx, nil, false)
	if !items[0].Run || ReasonText(items[0].Reasons) != "output gen.out missing" || items[1].Run {
		t.Errorf("plan after deleting output: %+v", items)
	}
	writeFiles(t, e.Workspace.Root, map[string]string{"gen.out": "edited"})
	e = reopen(t, e)
	if items, _ = e.Plan(ctx, nil, false); ReasonText(items[0].Reasons) != "output gen.out was modified" {
		t.Errorf("plan after editing output: %+v", items)
	}

	// A definition change.
	gen.def = "v2"
	if items, _ = e.Plan(ctx, []string{"gen"}, false); ReasonText(items[0].Reasons) != "definition changed; output gen.out was modified" {
		t.Errorf("plan after definition change: %+v", items)
	}
	// A removed and an added source.
	os.Remove(filepath.Join(e.Workspace.Root, "src/b.go"))
	writeFiles(t, e.Workspace.Root, map[string]string{"src/c.go": "c"})
	if items, _ = e.Plan(ctx, []string{"gen"}, false); !strings.Contains(ReasonText(items[0].Reasons), "src/c.go added; src/b.go removed") {
		t.Errorf("plan after adding and removing: %+v", items)
	}
}

func TestFailureStopsAndKeepGoing(t *testing.T) {
	for _, keep := range []bool{false, true} {
		bad := &testRule{info: RuleInfo{Name: "bad", Kind: "rule", Default: true}, fail: true}
		after := &testRule{info: RuleInfo{Name: "after", Kind: "rule", Deps: []string{"bad"}, Default: true}}
		other := &testRule{info: RuleInfo{Name: "other", Kind: "rule", Deps: []string{"slow"}, Default: true}}
		slow := &testRule{info: RuleInfo{Name: "slow", Kind: "rule", Default: true}}
		e, _ := newTestEngine(t, nil, bad, after, slow, other)
		sum, err := e.Run(context.Background(), nil, RunOptions{Jobs: 1, KeepGoing: keep})
		if !errors.Is(err, ErrFailed) {
			t.Fatalf("keep=%v: err = %v", keep, err)
		}
		if after.runs != 0 || strings.Join(sum.Failed, ",") != "bad" {
			t.Errorf("keep=%v: %+v", keep, sum)
		}
		if keep && (other.runs != 1 || slow.runs != 1) {
			t.Errorf("--keep-going did not run the independent rules: %+v", sum)
		}
		if !keep && other.runs != 0 {
			t.Errorf("without --keep-going a rule started after the failure: %+v", sum)
		}
	}
}

func TestCorruptState(t *testing.T) {
	r := &testRule{info: RuleInfo{Name: "a", Kind: "rule", Default: true}}
	e, _ := newTestEngine(t, nil, r)
	if _, err := e.Run(context.Background(), nil, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	p := statePath(e.Workspace)
	data, _ := os.ReadFile(p)
	for name, bad := range map[string][]byte{"truncated": data[:len(data)/2], "garbage": []byte("not a state file")} {
		os.WriteFile(p, bad, 0o644)
		st, err := LoadState(e.Workspace, true)
		if !errors.Is(err, ErrCorruptState) || st == nil || st.Rule("a") != nil {
			t.Errorf("%s: LoadState = %v, %v", name, st, err)
		}
		if _, err := os.Stat(p + ".corrupt"); err != nil {
			t.Errorf("%s: corrupt file not kept aside: %v", name, err)
		}
	}

	// An older format is not corruption: it is read as empty and replaced.
	os.Remove(p + ".corrupt")
	os.WriteFile(p, append([]byte("FERRYST3"), data[len(stateMagic):]...), 0o644)
	st, err := LoadState(e.Workspace, true)
	if err == nil || errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "another version of ferry (format FERRYST3, this one reads "+stateMagic+")") || st.Rule("a") != nil {
		t.Errorf("older format: LoadState = %v, %v", st, err)
	}
	if _, err := os.Stat(p + ".corrupt"); err == nil {
		t.Error("an older state file was moved aside as corrupt")
	}
}

func TestRacyFileRehashed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "1"})
	ix := NewFileIndex(dir, nil)
	d1, _ := ix.Hash("a")
	// Same size, and (on a coarse clock) perhaps the same mtime: a file this
	// fresh is never trusted from the cache.
	writeFiles(t, dir, map[string]string{"a": "2"})
	d2, _ := ix.Hash("a")
	if d1 == d2 {
		t.Fatal("a rewrite within the racy window was served from the stat cache")
	}
}

func TestStateRoundTrip(t *testing.T) {
	sf := &stateFile{
		Rules: map[string]*RuleState{"a": {
			Key: HashBytes([]byte("k")), Def: HashBytes([]byte("d")),
			Inputs:   []FileSum{{Path: "x/y.go", Sum: HashBytes([]byte("y"))}},
			Outputs:  []FileSum{{Path: "bin/a", Sum: HashBytes([]byte("a"))}},
			Deps:     map[string]Digest{"gen": HashBytes([]byte("g"))},
			Secrets:  map[string]Digest{"tok from environment variable TOK": HashBytes([]byte("hmac")), "opt from file o": {}},
			Finished: time.Unix(0, 1234567890), Duration: time.Second,
		}},
		Files: map[string]fileStat{"x/y.go": {Size: 3, Mtime: -5, Ctime: 7, Ino: 99, Racy: true, Sum: HashBytes([]byte("y"))}},
	}
	var back stateFile
	if err := decodeStatePayload(encodeState(sf), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sf.Files, back.Files) || !reflect.DeepEqual(sf.Rules["a"].Deps, back.Rules["a"].Deps) ||
		!reflect.DeepEqual(sf.Rules["a"].Secrets, back.Rules["a"].Secrets) ||
		!reflect.DeepEqual(sf.Rules["a"].Inputs, back.Rules["a"].Inputs) || back.Rules["a"].Finished.UnixNano() != 1234567890 {
		t.Errorf("round trip:\n got %+v %+v\nwant %+v %+v", back.Files, back.Rules["a"], sf.Files, sf.Rules["a"])
	}
	enc := encodeState(sf)
	// The shared modules that declared a rule are appended, so a state
	// without them is laid out as before they were recorded.
	sf.Rules["m"] = &RuleState{Key: HashBytes([]byte("mk")), Def: HashBytes([]byte("md")), OwnDef: HashBytes([]byte("own")),
		Modules: []ModuleStamp{{Alias: "lib", Hash: "h1:x", Version: "v1.2.0"}, {Alias: "dev", Hash: "h1:y"}}}
	withMods := encodeState(sf)
	back = stateFile{}
	if err := decodeStatePayload(withMods, &back); err != nil {
		t.Fatal(err)
	}
	if m := back.Rules["m"]; !reflect.DeepEqual(m.Modules, sf.Rules["m"].Modules) || m.OwnDef != sf.Rules["m"].OwnDef || back.Rules["a"].Modules != nil {
		t.Errorf("modules round trip: %+v, a: %+v", m, back.Rules["a"])
	}
	delete(sf.Rules, "m")
	back = stateFile{}
	if err := decodeStatePayload(encodeState(sf), &back); err != nil || back.Rules["a"].Modules != nil || !back.Rules["a"].OwnDef.IsZero() {
		t.Errorf("a state without modules: %v %+v", err, back.Rules["a"])
	}
	// A cut payload fails to decode, but where the modules begin: there it
	// is a state written without them.
	decoded := 0
	for i := range withMods {
		var x stateFile
		if err := decodeStatePayload(withMods[:i], &x); err == nil {
			decoded++
			if x.Rules["m"].Modules != nil {
				t.Errorf("cut at %d: modules %+v", i, x.Rules["m"].Modules)
			}
		}
	}
	if decoded != 1 {
		t.Errorf("%d cuts of the payload with modules decoded, want 1", decoded)
	}
	for i := range enc {
		var x stateFile
		if err := decodeStatePayload(enc[:i], &x); err == nil {
			t.Fatalf("a payload cut at %d of %d bytes decoded without error", i, len(enc))
		}
	}
}

// observedRule's result lives outside the workspace; present says whether it
// is still there.
type observedRule struct {
	testRule
	present bool
}

func (r *observedRule) Observe(context.Context, Digest) (bool, string, error) {
	return r.present, "image removed from the Engine", nil
}

func TestObserverReruns(t *testing.T) {
	r := &observedRule{testRule: testRule{info: RuleInfo{Name: "img", Kind: "image", Default: true}}, present: true}
	e, _ := newTestEngine(t, nil)
	g, err := NewGraph([]Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	e.Graph = g
	ctx := context.Background()
	if _, err := e.Run(ctx, nil, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if items, _ := e.Plan(ctx, nil, false); items[0].Run {
		t.Fatalf("present result planned to run: %+v", items)
	}
	r.present = false
	items, _ := e.Plan(ctx, nil, false)
	if !items[0].Run || ReasonText(items[0].Reasons) != "image removed from the Engine" {
		t.Fatalf("missing result: %+v", items)
	}
}

// An order-only dep runs first, but its key is not part of the dependent's:
// changing it does not rerun the dependent.
func TestOrderOnlyDeps(t *testing.T) {
	db := &testRule{info: RuleInfo{Name: "db", Kind: "rule", Default: true}, def: "v1"}
	api := &testRule{info: RuleInfo{Name: "api", Kind: "rule", Deps: []string{"db"}, OrderOnly: []string{"db"}, Default: true}}
	e, _ := newTestEngine(t, nil, db, api)
	ctx := context.Background()
	if sum, err := e.Run(ctx, nil, RunOptions{Jobs: 1}); err != nil || strings.Join(sum.Ran, ",") != "db,api" {
		t.Fatalf("first run: %+v, %v", sum, err)
	}
	db.def = "v2"
	if sum, err := e.Run(ctx, nil, RunOptions{}); err != nil || strings.Join(sum.Ran, ",") != "db" || strings.Join(sum.Cached, ",") != "api" {
		t.Errorf("after db changed: %+v, %v", sum, err)
	}
}

// preparingRule brings in what its definition names when it may run, as an
// image pulls a missing base image.
type preparingRule struct {
	*testRule
	prepares int
}

func (r *preparingRule) Prepare(context.Context, *Bus) error {
	r.prepares++
	r.def = "base pulled"
	return nil
}

// A Preparer is prepared before its key is computed in a run, so the key
// holds what it brought in and the next run finds it up to date; a plan
// prepares nothing.
func TestPreparerBeforeKey(t *testing.T) {
	r := &preparingRule{testRule: &testRule{info: RuleInfo{Name: "img", Kind: "rule", Default: true}, def: "base absent"}}
	dir := t.TempDir()
	ws := &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
	g, err := NewGraph([]Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(ws, g, st, NewBus(redact.New()))
	if _, err := e.Plan(context.Background(), nil, false); err != nil || r.prepares != 0 {
		t.Fatalf("plan: %v, %d prepares, want none", err, r.prepares)
	}
	if _, err := e.Run(context.Background(), nil, RunOptions{}); err != nil || r.prepares != 1 || r.runs != 1 {
		t.Fatalf("run: %v, %d prepares, %d runs; want 1, 1", err, r.prepares, r.runs)
	}
	e = reopen(t, e)
	sum, err := e.Run(context.Background(), nil, RunOptions{})
	if err != nil || len(sum.Cached) != 1 {
		t.Errorf("second run: %v, %+v; want img up to date", err, sum)
	}
}

// The reason for a changed definition names the shared modules that
// changed, and says "definition changed" when the rule's own definition
// did too, or when the last success did not record its modules.
func TestDefChanges(t *testing.T) {
	own, other := HashBytes([]byte("own")), HashBytes([]byte("other"))
	lib := func(hash, version string) ModuleStamp { return ModuleStamp{Alias: "lib", Hash: hash, Version: version} }
	dev := ModuleStamp{Alias: "dev", Hash: "h1:d"}
	for _, tc := range []struct {
		name string
		prev *RuleState
		own  Digest
		mods []ModuleStamp
		want string
	}{
		{"bump", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, own, []ModuleStamp{lib("h1:b", "v1.3.0")}, "module @lib changed (v1.2.0 → v1.3.0)"},
		{"bump and own", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, other, []ModuleStamp{lib("h1:b", "v1.3.0")}, "module @lib changed (v1.2.0 → v1.3.0); definition changed"},
		{"same version", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, own, []ModuleStamp{lib("h1:b", "v1.2.0")}, "module @lib changed (its files, at v1.2.0)"},
		{"override", &RuleState{OwnDef: own, Modules: []ModuleStamp{{Alias: "dev", Hash: "h1:c"}}}, own, []ModuleStamp{dev}, "module @dev changed"},
		{"added and removed", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, own, []ModuleStamp{dev}, "module @dev now declares it; module @lib no longer declares it"},
		{"own only", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, other, []ModuleStamp{lib("h1:a", "v1.2.0")}, "definition changed"},
		{"not recorded", &RuleState{}, own, []ModuleStamp{lib("h1:b", "v1.3.0")}, "definition changed"},
		{"no module now", &RuleState{OwnDef: own, Modules: []ModuleStamp{lib("h1:a", "v1.2.0")}}, Digest{}, nil, "definition changed"},
	} {
		if got := ReasonText(defChanges(tc.prev, &keyed{own: tc.own, modules: tc.mods})); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
