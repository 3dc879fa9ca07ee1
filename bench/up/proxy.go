package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// An apiProxy sits between a client and the Docker Engine on a Unix socket
// and records every API request it forwards: the exact list of Engine calls
// a command makes, mutating (POST, PUT, DELETE) or not.
type apiProxy struct {
	sock string
	srv  *http.Server

	mu    sync.Mutex
	calls []string // "METHOD /path", the path normalised
}

// engineAddr is where the Engine listens, from DOCKER_HOST as the clients
// read it.
func engineAddr() (network, addr string, err error) {
	host := os.Getenv("DOCKER_HOST")
	switch {
	case host == "":
		return "unix", "/var/run/docker.sock", nil
	case strings.HasPrefix(host, "unix://"):
		return "unix", strings.TrimPrefix(host, "unix://"), nil
	case strings.HasPrefix(host, "tcp://") && os.Getenv("DOCKER_TLS_VERIFY") == "":
		return "tcp", strings.TrimPrefix(host, "tcp://"), nil
	}
	return "", "", fmt.Errorf("DOCKER_HOST=%s: the bench can only relay a plain Unix or TCP socket", host)
}

// startProxy listens on a socket in dir and relays to the Engine.
func startProxy(dir string) (*apiProxy, error) {
	network, addr, err := engineAddr()
	if err != nil {
		return nil, err
	}
	p := &apiProxy{sock: filepath.Join(dir, "engine.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = "http", "docker", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}},
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls = append(p.calls, r.Method+" "+normalisePath(r.URL.Path))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "bench: API proxy: %v\n", err)
		}
	}()
	return p, nil
}

// env is what points a client at the proxy.
func (p *apiProxy) env() string { return "DOCKER_HOST=unix://" + p.sock }

// take returns the calls recorded since the last take.
func (p *apiProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := p.calls
	p.calls = nil
	return calls
}

func (p *apiProxy) close() { p.srv.Close() }

var apiVersion = regexp.MustCompile(`^/v[0-9]+\.[0-9]+`)

// normalisePath drops the API version and replaces object IDs and names,
// so calls group by endpoint: "/v1.41/containers/3f…/json" becomes
// "/containers/{id}/json".
func normalisePath(p string) string {
	p = apiVersion.ReplaceAllString(p, "")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch parts[0] {
	case "containers", "images", "networks", "volumes", "exec", "plugins":
	default:
		return p
	}
	if len(parts) < 2 {
		return p
	}
	switch parts[1] {
	case "json", "create", "prune", "search", "load", "get", "":
		return p
	}
	// Image names hold slashes: the object is everything up to the last
	// segment when that is an operation.
	last := parts[len(parts)-1]
	switch last {
	case "json", "start", "stop", "restart", "kill", "wait", "logs", "tag", "history", "push", "connect", "disconnect",
		"attach", "exec", "top", "rename", "update", "resize", "pause", "unpause", "archive", "changes", "export", "stats":
		if len(parts) > 2 {
			return "/" + parts[0] + "/{id}/" + last
		}
	}
	return "/" + parts[0] + "/{id}"
}

// Calls is the API requests of one or more runs, grouped by endpoint.
type Calls struct {
	Runs        int            `json:"runs"`
	PerRun      float64        `json:"per_run"`
	Mutating    int            `json:"mutating"` // POST, PUT, PATCH, DELETE, in all runs
	ByEndpoint  map[string]int `json:"by_endpoint"`
	MutatingOne []string       `json:"mutating_calls,omitempty"`
}

func tally(runs [][]string) Calls {
	c := Calls{Runs: len(runs), ByEndpoint: map[string]int{}}
	total := 0
	for _, calls := range runs {
		for _, call := range calls {
			total++
			c.ByEndpoint[call]++
			method, _, _ := strings.Cut(call, " ")
			switch method {
			case "GET", "HEAD", "OPTIONS":
			default:
				c.Mutating++
				if len(c.MutatingOne) < 20 {
					c.MutatingOne = append(c.MutatingOne, call)
				}
			}
		}
	}
	if c.Runs > 0 {
		c.PerRun = float64(total) / float64(c.Runs)
	}
	return c
}

// String lists the endpoints, with their counts per run.
func (c Calls) String() string {
	if c.Runs == 0 {
		return "not measured"
	}
	keys := make([]string, 0, len(c.ByEndpoint))
	for k := range c.ByEndpoint {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		n := float64(c.ByEndpoint[k]) / float64(c.Runs)
		parts = append(parts, fmt.Sprintf("%s ×%s", k, trimFloat(n)))
	}
	return fmt.Sprintf("%s per run, %d mutating in %d runs: %s", trimFloat(c.PerRun), c.Mutating, c.Runs, strings.Join(parts, ", "))
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}
