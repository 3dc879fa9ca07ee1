package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// exposition has every metric type, labels with escapes, and a label-less series.
const exposition = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027
http_requests_total{method="get",code="500"} 3
http_requests_total{method="post",code="200"} 12
# TYPE queue_depth gauge
queue_depth 7.5
# TYPE build_info gauge
build_info{version="1.2",path="C:\\bin\\app",note="say \"hi\"\nbye"} 1
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/api",le="0.1"} 40
latency_seconds_bucket{route="/api",le="1"} 48
latency_seconds_bucket{route="/api",le="+Inf"} 50
latency_seconds_sum{route="/api"} 9.5
latency_seconds_count{route="/api"} 50
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.02
rpc_seconds{quantile="0.99"} 0.3
rpc_seconds_sum 12.5
rpc_seconds_count 400
# a comment line
legacy_untyped 42
`

// server serves body with status at /metrics, and records the Accept header.
func server(t *testing.T, status int, body string) (string, *string) {
	t.Helper()
	var accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics", &accept
}

func TestScrapeAllTypes(t *testing.T) {
	url, accept := server(t, 200, exposition)
	s, err := Scrape(context.Background(), url, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*accept, "text/plain") {
		t.Errorf("Accept = %q, want the text format first", *accept)
	}
	get := func(name string, labels map[string]string) float64 {
		t.Helper()
		v, err := s.Get(name, labels)
		if err != nil {
			t.Fatalf("Get(%s, %v): %v", name, labels, err)
		}
		return v
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"http_requests_total", map[string]string{"method": "get", "code": "500"}, 3},
		{"http_requests_total", map[string]string{"method": "post"}, 12},
		{"queue_depth", nil, 7.5},
		{"build_info", map[string]string{"path": `C:\bin\app`, "note": "say \"hi\"\nbye"}, 1},
		{"latency_seconds_bucket", map[string]string{"le": "0.1"}, 40},
		{"latency_seconds_bucket", map[string]string{"le": "+Inf"}, 50},
		{"latency_seconds_sum", map[string]string{"route": "/api"}, 9.5},
		{"latency_seconds_count", nil, 50},
		{"rpc_seconds", map[string]string{"quantile": "0.99"}, 0.3},
		{"rpc_seconds_count", nil, 400},
		{"legacy_untyped", nil, 42},
		// An absent label matches "", as in PromQL.
		{"queue_depth", map[string]string{"instance": ""}, 7.5},
	} {
		if got := get(c.name, c.labels); got != c.want {
			t.Errorf("Get(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if sum, err := s.Sum("http_requests_total", map[string]string{"code": "200"}); err != nil || sum != 1039 {
		t.Errorf("Sum(code=200) = %v, %v; want 1039", sum, err)
	}
	if sum, err := s.Sum("http_requests_total", map[string]string{"code": "404"}); err != nil || sum != 0 {
		t.Errorf("Sum(code=404) = %v, %v; want 0 (a value not seen yet)", sum, err)
	}
	all, err := s.All("latency_seconds_bucket", nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("All(buckets) = %v, %v", all, err)
	}
	if all[0].Name != "latency_seconds_bucket" || all[0].Labels["route"] != "/api" {
		t.Errorf("bucket sample = %+v", all[0])
	}
	if got := len(s.Names()); got != 10 {
		t.Errorf("Names() = %v, want 10 series", s.Names())
	}
}

func TestQueryErrors(t *testing.T) {
	url, _ := server(t, 200, exposition)
	s, err := Scrape(context.Background(), url, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"http_request_total", nil, []string{"no metric named http_request_total in " + url, "did you mean http_requests_total?", "it has build_info, http_requests_total"}},
		{"latency_seconds", nil, []string{"latency_seconds is a histogram: ask for latency_seconds_bucket, latency_seconds_sum or latency_seconds_count"}},
		{"http_requests_total", map[string]string{"metod": "get"}, []string{"no sample of http_requests_total has a label metod (did you mean method?); its labels are code, method"}},
		{"http_requests_total", map[string]string{"method": "get"}, []string{`2 samples of http_requests_total have labels {method="get"}, want one`, `{code="200",method="get"}, {code="500",method="get"}`}},
		{"http_requests_total", map[string]string{"code": "404"}, []string{`no sample of http_requests_total has labels {code="404"}; its samples have {code="200",method="get"}`}},
		{"queue_depth", map[string]string{"zone": "a"}, []string{"no sample of queue_depth has a label zone: it has no labels"}},
	} {
		_, err := s.Get(c.name, c.labels)
		if err == nil {
			t.Errorf("Get(%s, %v): no error", c.name, c.labels)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Get(%s, %v):\n got %v\nwant %q", c.name, c.labels, err, w)
			}
		}
	}
}

func TestScrapeErrors(t *testing.T) {
	bad, _ := server(t, 200, "# TYPE x counter\nx 1\ny{a=\"b\" 2\n")
	failing, _ := server(t, 500, "database is down\n")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/metrics"
	l.Close()

	// Only the slow server is given a short timeout: under load the others
	// took more than 100ms to answer, and timed out instead of failing as
	// the case wants.
	const generous = time.Minute
	for _, c := range []struct {
		url     string
		timeout time.Duration
		want    []string
	}{
		{bad, generous, []string{bad + " is not in the Prometheus text format: line 3:", `"y{a=\"b\" 2"`}},
		{failing, generous, []string{"GET " + failing + " answered 500 Internal Server Error, want 200", `(body: "database is down")`}},
		{closed, generous, []string{"cannot reach " + closed + ":", "connection refused", "is the service running"}},
		{slow.URL, 100 * time.Millisecond, []string{slow.URL + " did not answer within 100ms", "Raise timeout"}},
		{"127.0.0.1:9090/metrics", generous, []string{`"127.0.0.1:9090/metrics" is not an http:// or https:// URL`}},
	} {
		_, err := Scrape(context.Background(), c.url, c.timeout)
		if err == nil {
			t.Errorf("Scrape(%s): no error", c.url)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Scrape(%s):\n got %v\nwant %q", c.url, err, w)
			}
		}
	}
}

// runTask evaluates ferry.star with the core and metrics plugins and runs
// its rules, returning the error of the first failed rule.
func runTask(t *testing.T, src string) error {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)}
	var failure string
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Kind == engine.EventRuleFail && failure == "" {
			failure = e.Err
		}
	}))
	ctx := context.Background()
	res, err := engine.Evaluate(ctx, engine.Options{Workspace: ws, Plugins: []engine.Plugin{core.Plugin{}, Plugin{}}, Events: bus})
	if err != nil {
		return err
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewEngine(ws, g, st, bus).Run(ctx, nil, engine.RunOptions{}); err != nil {
		return fmt.Errorf("%s", failure)
	}
	return nil
}

func TestStarlarkAPI(t *testing.T) {
	url, _ := server(t, 200, exposition)
	err := runTask(t, fmt.Sprintf(`
def check(ctx):
    m = metrics.scrape(%q, timeout = "2s")
    if m.get("http_requests_total", labels = {"method": "get", "code": "500"}) != 3.0:
        fail("get")
    if m.sum("http_requests_total", labels = {"code": "200"}) != 1039.0:
        fail("sum")
    buckets = m.all("latency_seconds_bucket", labels = {"route": "/api"})
    if [(b.labels["le"], b.value) for b in buckets] != [("0.1", 40.0), ("1", 48.0), ("+Inf", 50.0)]:
        fail("all: %%r" %% buckets)
    if buckets[0].name != "latency_seconds_bucket":
        fail("name")
    if "queue_depth" not in m.names() or m.url != %q:
        fail("names, url")

task(name = "check", run = check)
`, url, url))
	if err != nil {
		t.Fatal(err)
	}
}

func TestStarlarkErrors(t *testing.T) {
	url, _ := server(t, 200, exposition)
	for _, c := range []struct{ url, query, want string }{
		{url, `get("http_request_total")`,
			"ferry.star:3:10: samples.get: no metric named http_request_total in " + url + " (did you mean http_requests_total?)"},
		{url, `sum("http_requests_total", labels = {"cod": "200"})`,
			"ferry.star:3:10: samples.sum: no sample of http_requests_total has a label cod (did you mean code?)"},
		{"http://127.0.0.1:1/metrics", `names()`,
			"ferry.star:2:23: metrics.scrape: cannot reach http://127.0.0.1:1/metrics"},
		{"localhost:8080", `names()`,
			`ferry.star:2:23: metrics.scrape: "localhost:8080" is not an http:// or https:// URL`},
	} {
		src := fmt.Sprintf("def check(ctx):\n    m = metrics.scrape(%q, timeout = 1)\n    m.%s\ntask(name = \"check\", run = check)\n", c.url, c.query)
		err := runTask(t, src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.query, err, c.want)
		}
	}
	// Scraping has effects: it is refused while ferry.star is evaluated.
	err := runTask(t, fmt.Sprintf("m = metrics.scrape(%q)\n", url))
	if err == nil || !strings.Contains(err.Error(), "ferry.star:1:") || !strings.Contains(err.Error(), "metrics.scrape has effects, so it works only inside a run-time action") {
		t.Errorf("load-time scrape: got %v", err)
	}
}
