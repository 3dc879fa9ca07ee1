package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestAutoscaleDeclaration(t *testing.T) {
	g, err := load(t, `service(name = "api", image = "x", ports = ["8080"],
    autoscale = autoscale(min = 2, max = 6, metric = "http_requests_total", target = 10, window = "3s", cooldown = "5s", port = 8080))`)
	if err != nil {
		t.Fatal(err)
	}
	s := g.Rule("api").(*Rule).Spec()
	a := s.Autoscale
	if a == nil || s.Replicas != 2 || a.Max != 6 || a.Target != 10 || a.Window != 3*time.Second || a.Cooldown != 5*time.Second || a.Path != "/metrics" || a.Port != 8080 {
		t.Fatalf("spec %+v, policy %+v", s, a)
	}
}

func TestAutoscaleErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`autoscale(min = 3, max = 2, metric = "cpu", target = 50)`, `ferry.star:1:14: autoscale: min (3) is more than max (2)`},
		{`autoscale(min = 1, max = 2, metric = "cpu", target = 50, window = "soon")`, `ferry.star:1:14: autoscale: window:`},
		{`autoscale(min = 1, max = 2, metric = "x_total", target = 5)`, `want the container port serving x_total/metrics`},
		{`autoscale(min = 1, max = 2, metric = "cpu", target = 0)`, `target: got 0, want a number more than 0`},
		{`service(name = "api", image = "x", replicas = 2, autoscale = autoscale(min = 1, max = 2, metric = "cpu", target = 50))`, `give replicas or autoscale, not both`},
		{`service(name = "api", image = "x", ports = ["80:80"], autoscale = autoscale(min = 1, max = 2, metric = "cpu", target = 50))`, `"80:80/tcp" gives 1 host port(s) for 2 replicas`},
	} {
		_, err := load(t, "x = "+tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.want)
		}
	}
}
