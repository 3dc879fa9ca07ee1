package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
