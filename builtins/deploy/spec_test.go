package deploy

import (
	"strings"
	"testing"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in, want string
		hosts    int
		err      string
	}{
		{in: "80", want: "80/tcp"},
		{in: "8080:80", want: "8080:80/tcp", hosts: 1},
		{in: "127.0.0.1:8080:80/udp", want: "127.0.0.1:8080:80/udp", hosts: 1},
		{in: "8080-8083:80", want: "8080-8083:80/tcp", hosts: 4},
		{in: "[::]:5432:5432", want: "[::]:5432:5432/tcp", hosts: 1},
		{in: "[::1]:8080:80/udp", want: "[::1]:8080:80/udp", hosts: 1},
		{in: "[::1]::80", want: "[::1]:80/tcp"},
		{in: "127.0.0.1::80", want: "127.0.0.1:80/tcp"},
		// Host addresses are normalised: an IPv4-mapped IPv6 address is
		// the IPv4 address, and every spelling of an address is one.
		{in: "[::ffff:0.0.0.0]:5432:5432", want: "0.0.0.0:5432:5432/tcp", hosts: 1},
		{in: "[::ffff:127.0.0.1]:8080:80", want: "127.0.0.1:8080:80/tcp", hosts: 1},
		{in: "[0:0::0]:5432:5432", want: "[::]:5432:5432/tcp", hosts: 1},
		{in: "[0000:0000:0000:0000:0000:0000:0000:0000]:80:80", want: "[::]:80:80/tcp", hosts: 1},
		{in: "[::0:1]:80:80", want: "[::1]:80:80/tcp", hosts: 1},
		{in: "[::FFFF:7F00:1]:80:80", want: "127.0.0.1:80:80/tcp", hosts: 1},
		{in: "0:8080:80", err: "not an IP address"},
		{in: "0.0.0:8080:80", err: "not an IP address"},
		{in: "[fe80::1%eth0]:8080:80", err: "zone"},
		{in: "::1:8080:80", err: "in brackets"},
		{in: "[::1:8080:80", err: "in brackets"},
		{in: "[]:8080:80", err: "empty host address"},
		{in: "[example]:8080:80", err: "not an IP address"},
		{in: "[::1]8080:80", err: "in brackets"},
		{in: "[::1]:80", err: "want [IPv6]:HOST:CONTAINER"},
		{in: "localhost:8080:80", err: "not an IP address"},
		{in: "8083-8080:80", err: "LOW-HIGH"},
		{in: "http", err: "not a port number"},
		{in: "80/sctp", err: "want tcp or udp"},
		{in: "1:2:3:4", err: "want CONTAINER"},
		{in: "70000", err: "1-65535"},
	}
	for _, tt := range tests {
		p, err := ParsePort(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePort(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || p.String() != tt.want || p.HostPorts() != tt.hosts {
			t.Errorf("ParsePort(%q) = %s (%d host ports), %v; want %s (%d)", tt.in, p, p.HostPorts(), err, tt.want, tt.hosts)
		}
	}
}

// TestPortEverywhere: every spelling of the unspecified address publishes
// on every interface; no address (loopback on the docker target) and other
// addresses do not.
func TestPortEverywhere(t *testing.T) {
	for in, want := range map[string]bool{
		"0.0.0.0:5432:5432": true, "[::]:5432:5432": true, "[0:0::0]:1:1": true, "[::ffff:0.0.0.0]:5432:5432": true,
		"[0:0:0:0:0:ffff:0.0.0.0]::80": true, "0.0.0.0::80": true,
		"5432:5432": false, "80": false, "127.0.0.1:1:1": false, "[::1]:1:1": false, "[::ffff:127.0.0.1]:1:1": false, "10.0.0.1:1:1": false,
	} {
		p, err := ParsePort(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Everywhere(); got != want {
			t.Errorf("ParsePort(%q).Everywhere() = %v, want %v", in, got, want)
		}
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		dir, in string
		want    Volume
		err     string
	}{
		{in: "data:/var/lib/db", want: Volume{Source: "data", Target: "/var/lib/db"}},
		{dir: "api", in: "./static:/srv:ro", want: Volume{Source: "api/static", Target: "/srv", ReadOnly: true, Bind: true}},
		{dir: "api", in: "../shared:/shared", want: Volume{Source: "shared", Target: "/shared", Bind: true}},
		{in: "/etc/ssl:/etc/ssl:ro", want: Volume{Source: "/etc/ssl", Target: "/etc/ssl", ReadOnly: true, Bind: true}},
		{in: "data:relative", err: "absolute TARGET"},
		{in: "data:/x:rx", err: "want ro or rw"},
		{in: "my dir:/x", err: "not a volume name"},
		{in: "data", err: "SOURCE:TARGET"},
		{in: "~/data:/data", want: Volume{Source: "~/data", Target: "/data", Bind: true}},
		{in: "~:/home/me:ro", want: Volume{Source: "~", Target: "/home/me", ReadOnly: true, Bind: true}},
		{in: "~bob/data:/data", err: "~bob is another user's home folder, which ferry does not look up; write its absolute path"},
	}
	for _, tt := range tests {
		v, err := ParseVolume(tt.dir, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseVolume(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || v != tt.want {
			t.Errorf("ParseVolume(%q, %q) = %+v, %v; want %+v", tt.dir, tt.in, v, err, tt.want)
		}
	}
}

// A bind mount's host path: absolute as given, ~/ under the home folder,
// else under the workspace root.
func TestVolumeHostPath(t *testing.T) {
	t.Setenv("HOME", "/home/me")
	for _, tt := range []struct{ source, want string }{
		{"/etc/ssl", "/etc/ssl"},
		{"~/data", "/home/me/data"},
		{"~", "/home/me"},
		{"api/static", "/ws/api/static"},
	} {
		if got := (Volume{Source: tt.source, Bind: true}).HostPath("/ws"); got != tt.want {
			t.Errorf("HostPath of %q = %q, want %q", tt.source, got, tt.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"256Mi": 256 << 20, "512m": 512 << 20, "1g": 1 << 30, "1.5Gi": 3 << 29, "1048576": 1 << 20} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-1m", "0", "m"} {
		if _, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) accepted", in)
		}
	}
}

func TestValidate(t *testing.T) {
	fixed, _ := ParsePort("8080:80")
	s := &ServiceSpec{Name: "api", Replicas: 3, Restart: "always", Ports: []Port{fixed}}
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), `"8080-8082:80"`) || !strings.Contains(err.Error(), `publish "80"`) {
		t.Errorf("3 replicas on one host port: %v", err)
	}
	s = &ServiceSpec{Name: "api", Replicas: 1, Restart: "sometimes"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "want one of no, always") {
		t.Errorf("bad restart: %v", err)
	}
}
