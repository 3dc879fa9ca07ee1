package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

func TestProbeHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/moved":
			http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
		case "/slow":
			<-r.Context().Done() // until the probe gives up
		default:
			http.Error(w, "broken", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path    string
		timeout time.Duration // ample for an answer, even on a loaded machine
		want    string        // "" for success, else a part of the error
	}{
		{"/ok", 10 * time.Second, ""},
		{"/moved", 10 * time.Second, ""}, // 3xx counts, and the redirect is not followed
		{"/down", 10 * time.Second, "answered 503 Service Unavailable, want 2xx or 3xx"},
		{"/slow", 50 * time.Millisecond, "no answer within 50ms"},
	} {
		err := ProbeHTTP(context.Background(), srv.URL+tc.path, tc.timeout)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("GET %s: got %v, want %q", tc.path, err, tc.want)
		}
	}
}

// A connection error names the request once, without Go's quoting.
func TestProbeHTTPRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/healthz"
	l.Close()
	err = ProbeHTTP(context.Background(), url, time.Second)
	if want := "GET " + url + ": dial tcp " + l.Addr().String() + ": connect: connection refused"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestProbeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := ProbeTCP(context.Background(), addr, time.Second); err != nil {
		t.Errorf("listening port: %v", err)
	}
	l.Close()
	if err := ProbeTCP(context.Background(), addr, time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: got %v, want connection refused", err)
	}
}

// The tracker follows Docker's rules for retries and the start period.
func TestTracker(t *testing.T) {
	fail := errors.New("refused")
	h := &HealthCheck{Kind: "tcp", Retries: 2, StartPeriod: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	type step struct {
		at   time.Duration // since the container started
		err  error
		want string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"failures in the start period do not count", []step{{1 * time.Second, fail, Starting}, {5 * time.Second, fail, Starting}, {9 * time.Second, fail, Starting}, {11 * time.Second, fail, Starting}, {12 * time.Second, fail, Unhealthy}}},
		{"a success in the start period is healthy", []step{{1 * time.Second, fail, Starting}, {2 * time.Second, nil, Healthy}}},
		{"after healthy, every failure counts", []step{{1 * time.Second, nil, Healthy}, {2 * time.Second, fail, Healthy}, {3 * time.Second, fail, Unhealthy}}},
		{"a success resets the streak", []step{{11 * time.Second, fail, Starting}, {12 * time.Second, nil, Healthy}, {13 * time.Second, fail, Healthy}, {14 * time.Second, nil, Healthy}, {15 * time.Second, fail, Healthy}}},
		{"recovers from unhealthy", []step{{11 * time.Second, fail, Starting}, {12 * time.Second, fail, Unhealthy}, {13 * time.Second, nil, Healthy}}},
	} {
		tr := NewTracker(h, t0)
		for i, s := range tc.steps {
			tr.Observe(t0.Add(s.at), s.err)
			if tr.Status != s.want {
				t.Errorf("%s: step %d: %s, want %s", tc.name, i, tr.Status, s.want)
			}
		}
	}
	tr := NewTracker(h, t0)
	for i := range 5 {
		tr.Observe(t0, fmt.Errorf("error %d", i))
	}
	if len(tr.Errors) != keptErrors || tr.Errors[0].Error() != "error 2" {
		t.Errorf("kept errors %v, want the last %d", tr.Errors, keptErrors)
	}
}

// fakeTarget shows fixed replicas to WaitHealthy; only Replicas and
// LastLines are used.
type fakeTarget struct {
	Target
	replicas func() []Replica
}

func (f *fakeTarget) Replicas(context.Context, *Deployment) ([]Replica, error) {
	return f.replicas(), nil
}

func (f *fakeTarget) LastLines(_ context.Context, name string) string {
	return "; its last log lines:\n    " + name + " says hi"
}

func TestWaitHealthy(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := down.Addr().String()
	down.Close()
	started := time.Now()
	tcp := &HealthCheck{Kind: "tcp", Port: 1, Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond, Retries: 2}
	slow := *tcp
	slow.StartPeriod = time.Hour
	exec := &HealthCheck{Kind: "exec", Argv: []string{"/app", "check"}, Interval: time.Second, Timeout: time.Second, Retries: 1}
	replica := func(addr string) Replica {
		return Replica{Name: "p-web-1", Running: true, Started: started, Addr: addr}
	}
	for _, tc := range []struct {
		name    string
		check   *HealthCheck
		r       Replica
		timeout time.Duration
		want    []string // nil: healthy
	}{
		{"tcp answers", tcp, replica(up.Addr().String()), time.Second, nil},
		{"no check: running is enough", nil, replica(closed), time.Second, nil},
		{"tcp refused", tcp, replica(closed), 10 * time.Second,
			[]string{"service web is unhealthy (if it only needs longer to start, give its check a start_period): p-web-1 is unhealthy (health.tcp(", "its last probe errors:\n    dial tcp " + closed, "refused (2 times); its last log lines:\n    p-web-1 says hi"}},
		{"still starting at the timeout", &slow, replica(closed), 100 * time.Millisecond,
			[]string{"service web is not healthy after 100ms: p-web-1 is starting", "refused"}},
		{"exited", tcp, Replica{Name: "p-web-1", ExitCode: 3}, time.Second,
			[]string{"service web is not running: p-web-1 exited with code 3; its last log lines:"}},
		{"unreachable", tcp, Replica{Name: "p-web-1", Running: true, AddrErr: errors.New("port 1 is not published")}, time.Second,
			[]string{"service web: cannot probe p-web-1: port 1 is not published"}},
		{"exec healthy", exec, Replica{Name: "p-web-1", Running: true, Health: Healthy}, time.Second, nil},
		{"exec unhealthy", exec, Replica{Name: "p-web-1", Running: true, Health: Unhealthy, HealthOutput: "db down"}, time.Second,
			[]string{"p-web-1 is unhealthy (health.exec(/app check", "its last failed check said:\n    db down"}},
	} {
		ft := &fakeTarget{replicas: func() []Replica { return []Replica{tc.r} }}
		d := &Deployment{Project: "p", Spec: &ServiceSpec{Name: "web", Replicas: 1, Health: tc.check}}
		err := WaitHealthy(context.Background(), ft, d, tc.timeout, io.Discard)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", tc.name, w, err)
			}
		}
	}
}

// A replica that starts answering later becomes healthy within one interval.
func TestWaitHealthyLateServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	probes, started := 0, time.Now()
	ft := &fakeTarget{replicas: func() []Replica {
		probes++
		if probes == 3 {
			l, err = net.Listen("tcp", addr)
			if err != nil {
				t.Error(err)
			}
		}
		return []Replica{{Name: "p-web-1", Running: true, Started: started, Addr: addr}}
	}}
	h := &HealthCheck{Kind: "tcp", Port: 1, Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond, Retries: 1, StartPeriod: time.Hour}
	d := &Deployment{Project: "p", Spec: &ServiceSpec{Name: "web", Replicas: 1, Health: h}}
	if err := WaitHealthy(context.Background(), ft, d, 5*time.Second, io.Discard); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if probes != 3 {
		t.Errorf("healthy after %d rounds, want 3", probes)
	}
}

// During the start period, probes come every start_interval: a replica
// that answers soon is healthy long before the next interval.
func TestWaitHealthyStartInterval(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rounds, started := 0, time.Now()
	ft := &fakeTarget{replicas: func() []Replica {
		rounds++
		if rounds == 3 {
			if l, err = net.Listen("tcp", addr); err != nil {
				t.Error(err)
			}
		}
		return []Replica{{Name: "p-web-1", Running: true, Started: started, Addr: addr}}
	}}
	h := &HealthCheck{Kind: "tcp", Port: 1, Interval: time.Hour, Timeout: 100 * time.Millisecond, Retries: 1, StartPeriod: time.Hour, StartInterval: 10 * time.Millisecond}
	d := &Deployment{Project: "p", Spec: &ServiceSpec{Name: "web", Replicas: 1, Health: h}}
	if err := WaitHealthy(context.Background(), ft, d, 5*time.Second, io.Discard); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if rounds != 3 {
		t.Errorf("healthy after %d rounds, want 3", rounds)
	}
	if got := h.ProbeInterval(false); got != time.Hour {
		t.Errorf("interval once started: %s, want 1h", got)
	}
}

// exitTarget is a fakeTarget that also says how a replica's last run
// ended.
type exitTarget struct {
	*fakeTarget
}

func (exitTarget) LastExit(context.Context, string, time.Time) (int, bool) { return 42, true }

// A replica is ready only once it has run for ReadyAfter since its last
// start, and a restart, an exit or a restart in progress during the wait
// fails it, with the exit code and the last log lines; the wait's event
// calls a restart a crash loop (with the exit code), an exit unhealthy.
func TestWaitReadyAfter(t *testing.T) {
	spec := func(readyAfter time.Duration) *Deployment {
		return &Deployment{Project: "p", Spec: &ServiceSpec{Name: "web", Replicas: 1, Restart: "always", ReadyAfter: readyAfter}}
	}

	// Up for an hour already: ready at the first look.
	rounds := 0
	ft := &fakeTarget{replicas: func() []Replica {
		rounds++
		return []Replica{{Name: "p-web-1", Running: true, Started: time.Now().Add(-time.Hour)}}
	}}
	if err := WaitHealthy(context.Background(), ft, spec(5*time.Second), time.Minute, io.Discard); err != nil || rounds != 1 {
		t.Errorf("a replica up for an hour: %v after %d rounds, want ready after 1", err, rounds)
	}

	// Just started: ready once it has run for ReadyAfter, measured from
	// its start.
	started := time.Now()
	ft.replicas = func() []Replica { return []Replica{{Name: "p-web-1", Running: true, Started: started}} }
	if err := WaitHealthy(context.Background(), ft, spec(300*time.Millisecond), time.Minute, io.Discard); err != nil {
		t.Fatal(err)
	}
	if up := time.Since(started); up < 300*time.Millisecond {
		t.Errorf("ready after %s up, want 300ms", up)
	}

	// Not up long enough at the timeout: the error says how long it ran.
	now := time.Now()
	ft.replicas = func() []Replica { return []Replica{{Name: "p-web-1", Running: true, Started: now}} }
	err := WaitHealthy(context.Background(), ft, spec(time.Hour), 100*time.Millisecond, io.Discard)
	if want := "service web is not healthy after 100ms: p-web-1 has been up for "; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "of the 1h0m0s it must stay up without a restart (ready_after); its last log lines:") {
		t.Errorf("too short at the timeout: got %v", err)
	}

	for _, tc := range []struct {
		name  string
		runs  []Replica // what each look shows; the last one repeats
		want  string
		event string // the kind of the wait's event, and the exit code of a crash loop
	}{
		{"restarted", []Replica{{Running: true, Started: started}, {Running: true, Restarts: 1, Started: started.Add(2 * time.Second)}},
			"service web restarted while ferry waited for it to be ready: p-web-1 exited with code 42 at most 2s after its start, and was started again (restart = \"always\", 1 restart(s) so far); its last log lines:\n    p-web-1 says hi",
			"service.crashloop p-web-1 exit 42 restarts 1"},
		{"started again", []Replica{{Running: true, Started: started}, {Running: true, Started: started.Add(time.Second)}},
			"p-web-1 exited with code 42 at most 1s after its start", "service.crashloop p-web-1 exit 42 restarts 0"},
		{"restarting", []Replica{{Running: true, Started: started}, {Running: true, Restarting: true, ExitCode: 7, Restarts: 2, Started: started}},
			"service web is crash-looping: p-web-1 exited with code 7 and is being restarted (restart = \"always\", 2 restart(s) so far); its last log lines:",
			"service.crashloop p-web-1 exit 7 restarts 2"},
		{"exited", []Replica{{Running: true, Started: started}, {ExitCode: 3, Started: started}},
			"service web is not running: p-web-1 exited with code 3; its last log lines:", "service.health unhealthy"},
	} {
		look := 0
		et := exitTarget{&fakeTarget{replicas: func() []Replica {
			r := tc.runs[min(look, len(tc.runs)-1)]
			look++
			r.Name = "p-web-1"
			return []Replica{r}
		}}}
		err := WaitHealthy(context.Background(), et, spec(time.Hour), time.Minute, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
			continue
		}
		e := WaitEvent("web", err)
		got := string(e.Kind) + " " + e.Service.Health
		if st := e.Service; e.Kind == engine.EventServiceCrashLoop && st.Exit != nil {
			got = fmt.Sprintf("%s %s exit %d restarts %d", e.Kind, st.Replica, st.Exit.Code, st.Restarts)
		}
		if got != tc.event || e.Service.Name != "web" || e.Reason != err.Error() || e.Text != "" {
			t.Errorf("%s: event %q (%+v), want %q with the error as its reason", tc.name, got, e, tc.event)
		}
	}
	if e := WaitEvent("web", nil); e.Kind != engine.EventServiceHealth || e.Service.Health != Healthy || e.Reason != "" {
		t.Errorf("a wait that succeeded: %+v", e)
	}
}

// statusTarget shows the status that each look returns.
type statusTarget struct {
	Target
	looks [][]ServiceStatus
	n     int
	done  chan struct{}
}

func (s *statusTarget) Status(context.Context, string) ([]ServiceStatus, error) {
	list := s.looks[min(s.n, len(s.looks)-1)]
	if s.n++; s.n == len(s.looks) {
		close(s.done)
	}
	return list, nil
}

// SampleStatus reports every service at its first look, then only what
// changed.
func TestSampleStatus(t *testing.T) {
	st := &statusTarget{done: make(chan struct{}), looks: [][]ServiceStatus{
		{{Name: "web", Replicas: 1, Desired: 2, Health: Starting}, {Name: "db", Replicas: 1, Desired: 1}},
		{{Name: "web", Replicas: 2, Desired: 2, Health: Unhealthy, HealthError: "connection refused"}, {Name: "db", Replicas: 1, Desired: 1}},
	}}
	var got []string
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		line := fmt.Sprintf("%s %s", e.Kind, e.Service.Name)
		if r := e.Service.Replicas; r != nil {
			line += fmt.Sprintf(" %d/%d", r.Ready, r.Wanted)
		}
		got = append(got, strings.TrimSpace(line+" "+e.Service.Health+" "+e.Reason))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { SampleStatus(ctx, st, "p", bus, 10*time.Millisecond); close(done) }()
	select {
	case <-st.done:
	case <-time.After(5 * time.Second):
		t.Fatal("no second look")
	}
	cancel()
	<-done
	want := []string{"service.replicas web 1/2", "service.health web starting", "service.replicas db 1/1",
		"service.replicas web 2/2", "service.health web unhealthy connection refused"}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A failed call to the target ends the wait with a TargetError, which
// says the replica's health is unknown, not bad.
func TestWaitTargetError(t *testing.T) {
	ft := &errTarget{err: errors.New("inspect container: Error response from daemon: boom")}
	d := &Deployment{Project: "p", Spec: &ServiceSpec{Name: "web", Replicas: 1}}
	err := WaitHealthy(context.Background(), ft, d, time.Minute, io.Discard)
	var terr *TargetError
	if !errors.As(err, &terr) || err.Error() != "ferry could not tell whether service web is healthy: inspect container: Error response from daemon: boom" {
		t.Errorf("got %v", err)
	}
}

type errTarget struct {
	Target
	err error
}

func (e *errTarget) Replicas(context.Context, *Deployment) ([]Replica, error) { return nil, e.err }
