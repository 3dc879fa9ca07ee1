package deploy

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// bareTarget has no optional capability; it records what it is asked to
// remove. Only RemoveExcept is used.
type bareTarget struct {
	Target
	kept [][]string
}

func (b *bareTarget) RemoveExcept(_ context.Context, _ string, keep []string) ([]string, error) {
	b.kept = append(b.kept, keep)
	return []string{"old"}, nil
}

// capableTarget can exec and restart.
type capableTarget struct {
	bareTarget
	exec     ExecRequest
	restarts []string
}

func (c *capableTarget) Exec(_ context.Context, r ExecRequest) (int, error) {
	c.exec = r
	return 3, nil
}

func (c *capableTarget) Restart(_ context.Context, _ string, services []string, _ Declared, log io.Writer) error {
	c.restarts = services
	_, err := io.WriteString(log, "restarted "+strings.Join(services, ",")+"\n")
	return err
}

// logLines collects the text of a bus's events.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) bus() *engine.Bus {
	return engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		l.mu.Lock()
		l.lines = append(l.lines, e.Text)
		l.mu.Unlock()
	}))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

const deployerStar = `
task(name = "gen", cmd = "true")
job(name = "migrate", image = "alpine")
service(name = "web", image = "nginx", autoscale = autoscale(min = 1, max = 3, metric = "cpu", target = 50))
`

// Up runs the selected services and jobs, refuses another kind of rule,
// and removes what ferry.star no longer declares only when none is named.
func TestDeployerUp(t *testing.T) {
	g, err := load(t, deployerStar)
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	target := &bareTarget{}
	d := &Deployer{Target: target, Project: "p", Bus: log.bus()}
	var ran [][]string
	run := func(_ context.Context, names []string, after func() error) error {
		ran = append(ran, names)
		return after()
	}
	ctx := context.Background()
	if err := d.Up(ctx, g, []string{"gen"}, UpOptions{}, run); err == nil || !strings.Contains(err.Error(), `ferry up starts services and jobs; "gen" is a task (use `+"`ferry run gen`)") {
		t.Errorf("up gen: %v", err)
	}
	if err := d.Up(ctx, g, nil, UpOptions{}, run); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || !slices.Equal(ran[0], []string{"migrate", "web"}) || len(target.kept) != 1 || !slices.Equal(target.kept[0], []string{"migrate", "web"}) {
		t.Errorf("up ran %v and kept %v, want [migrate web] both", ran, target.kept)
	}
	if err := d.Up(ctx, g, []string{"web"}, UpOptions{}, run); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 || !slices.Equal(ran[1], []string{"web"}) || len(target.kept) != 1 {
		t.Errorf("up web ran %v and kept %v: a named service removes nothing", ran, target.kept)
	}
	for _, want := range []string{"removed old: it is no longer in ferry.star", "project p is up; `ferry status` shows it"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// A target without a capability fails the command that needs it, naming
// the environment; one with it is used, with the project set.
func TestDeployerCapabilities(t *testing.T) {
	g, err := load(t, deployerStar)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var log logLines
	d := &Deployer{Target: &bareTarget{}, Env: "staging", Project: "p", Bus: log.bus()}
	if _, err := d.Exec(ctx, ExecRequest{Service: "web", Cmd: []string{"ls"}}); err == nil || !strings.Contains(err.Error(), "ferry exec works on the containers of the local Docker Engine, and environment staging's target cannot run commands") {
		t.Errorf("exec: %v", err)
	}
	if err := d.Restart(ctx, []string{"web"}, nil); err == nil || !strings.Contains(err.Error(), "ferry restart works on") {
		t.Errorf("restart: %v", err)
	}
	if err := d.Logs(ctx, nil, LogOptions{}, io.Discard); err == nil || !strings.Contains(err.Error(), "environment staging's target cannot show the logs") {
		t.Errorf("logs: %v", err)
	}
	if err := d.FollowEvents(ctx); err == nil || !strings.Contains(err.Error(), "environment staging's target cannot report what happens") {
		t.Errorf("follow: %v", err)
	}
	if removed, err := d.RemoveDeployed(ctx); err != nil || removed != nil {
		t.Errorf("RemoveDeployed = %v, %v; want nothing from a target that does not remember", removed, err)
	}
	d.Autoscale(ctx, g)
	if !strings.Contains(log.String(), "autoscale of web: environment staging has no autoscaler in ferry yet") {
		t.Errorf("autoscale on a target that cannot scale:\n%s", log.String())
	}

	c := &capableTarget{}
	d.Target = c
	if code, err := d.Exec(ctx, ExecRequest{Service: "web", Cmd: []string{"ls"}}); err != nil || code != 3 || c.exec.Project != "p" || c.exec.Service != "web" {
		t.Errorf("exec = %d, %v; the target got %+v", code, err, c.exec)
	}
	if err := d.Restart(ctx, []string{"web"}, nil); err != nil || !slices.Equal(c.restarts, []string{"web"}) {
		t.Errorf("restart: %v; the target restarted %v", err, c.restarts)
	}
	if !strings.Contains(log.String(), "restarted web") {
		t.Errorf("the restart's report is not on the bus:\n%s", log.String())
	}
}

// DeclaredBy lists the services and jobs of the graph it loads, by kind.
func TestDeclaredBy(t *testing.T) {
	g, err := load(t, deployerStar)
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := DeclaredBy(func() (*engine.Graph, error) { return g, nil })()
	if err != nil || len(kinds) != 2 || kinds["web"] != "service" || kinds["migrate"] != "job" {
		t.Errorf("DeclaredBy = %v, %v", kinds, err)
	}
	if IsService(g.Rule("migrate")) || !IsService(g.Rule("web")) || IsDeploy(g.Rule("gen")) || !g.Rule("migrate").(*Rule).IsJob() {
		t.Error("IsService, IsDeploy or IsJob misjudge a rule")
	}
}
