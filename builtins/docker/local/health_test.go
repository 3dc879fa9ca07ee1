package local

import (
	"net"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
)

// reach picks the container's address when a local bridge covers it, else
// its published port, and says why when there is neither.
func TestReach(t *testing.T) {
	t.Parallel()
	_, bridge, _ := net.ParseCIDR("172.18.0.1/16")
	local := []*net.IPNet{bridge}
	ep := func(published ...dockerapi.HostPort) dockerapi.Endpoints {
		e := dockerapi.Endpoints{Name: "p-web-1", IPs: map[string]string{"p_default": "172.18.0.5"}, Published: map[int][]dockerapi.HostPort{}}
		if len(published) > 0 {
			e.Published[8080] = published
		}
		return e
	}
	for _, tc := range []struct {
		name, host string
		nets       []*net.IPNet
		ep         dockerapi.Endpoints
		want       string // the address, or a part of the error
		fails      bool
	}{
		{"local bridge", "unix:///var/run/docker.sock", local, ep(), "172.18.0.5:8080", false},
		{"local bridge before the published port", "unix:///var/run/docker.sock", local, ep(dockerapi.HostPort{IP: "0.0.0.0", Port: 32768}), "172.18.0.5:8080", false},
		{"bridge not on this machine: published port", "unix:///var/run/docker.sock", nil, ep(dockerapi.HostPort{IP: "0.0.0.0", Port: 32768}), "127.0.0.1:32768", false},
		{"published on one address", "unix:///var/run/docker.sock", nil, ep(dockerapi.HostPort{IP: "127.0.0.2", Port: 9000}), "127.0.0.2:9000", false},
		{"remote Engine: its host", "tcp://10.0.0.5:2376", local, ep(dockerapi.HostPort{IP: "0.0.0.0", Port: 32768}), "10.0.0.5:32768", false},
		{"ssh Engine: its host", "ssh://me@build-box", nil, ep(dockerapi.HostPort{IP: "::", Port: 32768}), "build-box:32768", false},
		{"remote and not published", "tcp://10.0.0.5:2376", local, ep(),
			`ferry cannot reach port 8080 of p-web-1: the Docker Engine at tcp://10.0.0.5:2376 is not on this machine, so container addresses cannot be reached from here, and port 8080 is not published on an address of its host; publish it (ports = ["0.0.0.0::8080"])`, true},
		{"Engine on this machine's loopback over TCP: its loopback is ours", "tcp://127.0.0.1:2376", local, ep(dockerapi.HostPort{IP: "127.0.0.1", Port: 32768}), "127.0.0.1:32768", false},
		{"remote Engine, published on its loopback", "tcp://10.0.0.5:2376", local, ep(dockerapi.HostPort{IP: "127.0.0.1", Port: 32768}),
			`port 8080 is not published on an address of its host (only on its loopback, 127.0.0.1:32768, the default for a port written without an address); publish it (ports = ["0.0.0.0::8080"])`, true},
		{"VM and not published", "unix:///var/run/docker.sock", nil, ep(),
			"its address on p_default (172.18.0.5) is not reachable from this machine (the Engine runs its containers elsewhere, as Docker Desktop does in a VM), and port 8080 is not published; publish it", true},
	} {
		addr, err := Reach(tc.host, tc.nets, tc.ep, "p_default", 8080)
		got := addr
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) || (err != nil) != tc.fails {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
