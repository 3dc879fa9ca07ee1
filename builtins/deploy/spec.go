// Package deploy declares what runs: the target-neutral service() and job()
// specs, and the rules that hand them to a Target (the local Docker Engine
// now; Swarm and Kubernetes later reuse the same specs).
package deploy

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// A ServiceSpec is a long-running service, whatever runs it.
type ServiceSpec struct {
	Name  string
	Image string // a reference, or the name of an image rule (see ImageRule)
	// Pull is when to pull Image from its registry: PullMissing,
	// PullAlways or PullNever.
	Pull       string
	Command    []string          // nil: the image's default
	Entrypoint []string          // nil: the image's default
	Env        map[string]string // with the variables of EnvFiles that env = does not set
	// EnvFiles are the env_file = files, read when the spec was declared.
	EnvFiles []EnvFile
	Secrets  map[string]engine.Secret // environment variables with secret values
	// SecretFiles maps container paths to the secrets bind-mounted there.
	SecretFiles map[string]engine.Secret
	// Configs are files mounted read-only, sorted by container path.
	Configs []Config
	Ports   []Port
	Volumes []Volume
	// Networks are the project's or external networks the service joins
	// besides the project's own network (which it joins unless
	// Settings.NoDefaultNetwork).
	Networks []string
	// NetworkMode is "" (the project network, and Networks), "host" (the
	// host's network stack) or "none" (no network but loopback).
	NetworkMode string
	Privileged  bool            // every capability and device of the host
	External    map[string]bool // networks declared with network(name, external = True)
	Internal    map[string]bool // networks declared with network(name, internal = True)
	Labels      map[string]string
	Replicas    int
	Restart     string // "no", "always", "on-failure", "unless-stopped"
	Memory      int64  // bytes, 0: no limit
	CPUs        float64
	DependsOn   []string
	Workdir     string
	User        string
	Health      *HealthCheck // nil: none declared
	Update      UpdatePolicy // how a change is rolled out (services)
	// ReadyAfter is how long a replica must stay up (and healthy, with a
	// check) since its last start, without a restart, to count as ready.
	ReadyAfter time.Duration
	// Autoscale, when set, lets the foreground loop choose the replica
	// count within [Min, Max]; Replicas is then Min.
	Autoscale *scale.Policy
	Settings
}

// A JobSpec is a one-shot container run to completion (a migration, say).
type JobSpec struct {
	ServiceSpec
}

// A Port publishes a container port on the host.
type Port struct {
	// HostIP is the host address written, normalised (an IPv4-mapped IPv6
	// address is its IPv4 address; "::" for every spelling of the IPv6
	// unspecified address), or "" when none was written: the docker target
	// then publishes on loopback only (LoopbackIP), Swarm everywhere.
	HostIP    string
	HostStart int // 0: a free port chosen by the Engine
	HostEnd   int // == HostStart unless a range
	Container int
	Protocol  string // "tcp" or "udp"
}

// LoopbackIP is the address a port written without one is published on
// by the docker target.
const LoopbackIP = "127.0.0.1"

// Everywhere reports whether p was written to be published on every
// interface: on the unspecified address, however spelled (0.0.0.0, [::],
// [0:0::0], [::ffff:0.0.0.0]). A port written without an address is not:
// the docker target publishes it on loopback.
func (p Port) Everywhere() bool {
	ip, err := netip.ParseAddr(p.HostIP)
	return err == nil && ip.Unmap().IsUnspecified()
}

// On returns p as a ports = entry published on the address ip instead
// ("127.0.0.1:5433:5432", "[::1]::6379" for a free host port), keeping its
// host port and protocol ("/udp"; "/tcp" is left out).
func (p Port) On(ip string) string {
	p.HostIP = ""
	s := strings.TrimSuffix(p.String(), "/tcp")
	if p.HostStart == 0 {
		s = ":" + s
	}
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + s
	}
	return ip + ":" + s
}

func (p Port) String() string {
	var sb strings.Builder
	switch {
	case strings.Contains(p.HostIP, ":"): // IPv6
		sb.WriteString("[" + p.HostIP + "]:")
	case p.HostIP != "":
		sb.WriteString(p.HostIP + ":")
	}
	if p.HostStart != 0 {
		sb.WriteString(strconv.Itoa(p.HostStart))
		if p.HostEnd != p.HostStart {
			sb.WriteString("-" + strconv.Itoa(p.HostEnd))
		}
		sb.WriteString(":")
	}
	fmt.Fprintf(&sb, "%d/%s", p.Container, p.Protocol)
	return sb.String()
}

// HostPorts returns how many fixed host ports p offers (0 for a free port).
func (p Port) HostPorts() int {
	if p.HostStart == 0 {
		return 0
	}
	return p.HostEnd - p.HostStart + 1
}

// ParsePort parses a port as compose writes it: "80" (a free host port),
// "8080:80", "127.0.0.1:8080:80", "[::1]:8080:80" (an IPv6 host address in
// brackets), "8080-8083:80", with an optional "/udp".
func ParsePort(s string) (Port, error) {
	p := Port{Protocol: "tcp"}
	spec := s
	if base, proto, ok := strings.Cut(s, "/"); ok {
		if proto != "tcp" && proto != "udp" {
			return p, fmt.Errorf("port %q: protocol %q, want tcp or udp", s, proto)
		}
		spec, p.Protocol = base, proto
	}
	parts := strings.Split(spec, ":")
	if rest, ok := strings.CutPrefix(spec, "["); ok {
		ip, ports, ok := strings.Cut(rest, "]:")
		if !ok {
			return p, fmt.Errorf("port %q: want [IPv6]:HOST:CONTAINER, the IPv6 host address in brackets", s)
		}
		if parts = append([]string{ip}, strings.Split(ports, ":")...); len(parts) != 3 {
			return p, fmt.Errorf("port %q: want [IPv6]:HOST:CONTAINER", s)
		}
	}
	var host string
	switch len(parts) {
	case 1:
	case 2:
		host = parts[0]
	case 3:
		p.HostIP, host = parts[0], parts[1]
		if p.HostIP == "" {
			return p, fmt.Errorf("port %q: empty host address", s)
		}
		ip, err := netip.ParseAddr(p.HostIP)
		switch {
		case err != nil:
			return p, fmt.Errorf("port %q: host address %q is not an IP address", s, p.HostIP)
		case ip.Zone() != "":
			return p, fmt.Errorf("port %q: host address %q has a zone (%%%s), which Docker does not take; write the address alone", s, p.HostIP, ip.Zone())
		}
		// One spelling per address, so that checks and keys see one form:
		// [::ffff:0.0.0.0] is 0.0.0.0, [0:0::0] is [::].
		p.HostIP = ip.Unmap().String()
	default:
		return p, fmt.Errorf("port %q: want CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER, an IPv6 address in brackets ([::1]:HOST:CONTAINER)", s)
	}
	c, err := portNumber(parts[len(parts)-1])
	if err != nil {
		return p, fmt.Errorf("port %q: container port: %v", s, err)
	}
	p.Container = c
	if host != "" {
		lo, hi, isRange := strings.Cut(host, "-")
		if p.HostStart, err = portNumber(lo); err != nil {
			return p, fmt.Errorf("port %q: host port: %v", s, err)
		}
		p.HostEnd = p.HostStart
		if isRange {
			if p.HostEnd, err = portNumber(hi); err != nil || p.HostEnd < p.HostStart {
				return p, fmt.Errorf("port %q: host port range must be LOW-HIGH", s)
			}
		}
	}
	return p, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}

// A Volume mounts a named volume or a host folder into the container.
type Volume struct {
	Source   string // a volume name, or a workspace-relative, absolute or ~/ host path (see HostPath)
	Target   string
	ReadOnly bool
	Bind     bool // Source is a host path
	External bool // a named volume declared with volume(name, external = True)
	// Anonymous is a volume written with its container path alone
	// ("/data"): the Engine makes a fresh one for each container, removed
	// with it. Source is "".
	Anonymous bool
}

// HostPath is the host path of a bind mount: Source when it is absolute,
// under the user's home folder for ~ and ~/..., else under root, the
// workspace root.
func (v Volume) HostPath(root string) string {
	switch {
	case strings.HasPrefix(v.Source, "/"):
		return v.Source
	case v.Source == "~" || strings.HasPrefix(v.Source, "~/"):
		home, _ := os.UserHomeDir() // ParseVolume checked that there is one
		return home + v.Source[1:]
	}
	return root + "/" + v.Source
}

// ParseVolume parses "NAME:/path", "./dir:/path", "~/dir:/path" or "/abs:/path", with an
// optional ":ro" or ":rw", or "/path" alone (an anonymous volume). dir is the declaring file's folder, which relative host
// paths are resolved against.
func ParseVolume(dir, s string) (Volume, error) {
	parts := strings.Split(s, ":")
	var v Volume
	if strings.HasPrefix(s, "/") && (len(parts) == 1 || len(parts) == 2 && (parts[1] == "ro" || parts[1] == "rw")) {
		if path.Clean(parts[0]) == "/" {
			return v, fmt.Errorf("volume %q: an anonymous volume needs a container path other than /", s)
		}
		if len(parts) == 2 && parts[1] == "ro" {
			return v, fmt.Errorf("volume %q: an anonymous volume starts empty, so a read-only one holds nothing (the Engine refuses it); drop :ro, or mount a named volume (\"NAME:%s:ro\")", s, parts[0])
		}
		v.Target, v.Anonymous = path.Clean(parts[0]), true
		return v, nil
	}
	switch len(parts) {
	case 2:
	case 3:
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return v, fmt.Errorf("volume %q: mode %q, want ro or rw", s, parts[2])
		}
	default:
		return v, fmt.Errorf("volume %q: want SOURCE:TARGET[:ro], or a container path alone (\"/data\") for an anonymous volume", s)
	}
	v.Source, v.Target = parts[0], parts[1]
	if v.Source == "" || !strings.HasPrefix(v.Target, "/") {
		return v, fmt.Errorf("volume %q: want SOURCE:TARGET with an absolute TARGET", s)
	}
	switch {
	case strings.HasPrefix(v.Source, "/"):
		v.Bind = true
	case v.Source == "~" || strings.HasPrefix(v.Source, "~/"):
		if _, err := os.UserHomeDir(); err != nil {
			return v, fmt.Errorf("volume %q: ~ is your home folder, but %v; write an absolute path", s, err)
		}
		v.Bind = true
	case strings.HasPrefix(v.Source, "~"):
		user, _, _ := strings.Cut(v.Source, "/")
		return v, fmt.Errorf("volume %q: %s is another user's home folder, which ferry does not look up; write its absolute path", s, user)
	case strings.HasPrefix(v.Source, "./") || strings.HasPrefix(v.Source, "../") || v.Source == ".":
		v.Bind = true
		v.Source = path.Join(dir, v.Source)
	default:
		for _, r := range v.Source {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
				return v, fmt.Errorf("volume %q: %q is not a volume name; write ./%s for a folder", s, v.Source, v.Source)
			}
		}
	}
	return v, nil
}

// ParseMemory parses a memory size: a number of bytes, or with a unit
// (k, m, g as Docker writes them; Ki, Mi, Gi as Kubernetes does).
func ParseMemory(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"b", 1},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n <= 0 {
				break
			}
			return int64(n * float64(u.mult)), nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("memory %q: want a size such as 256Mi, 512m or 1g", s)
	}
	return n, nil
}

// restartPolicies are the restart values every target understands.
var restartPolicies = []string{"no", "always", "on-failure", "unless-stopped"}

// Validate checks the spec as a whole.
func (s *ServiceSpec) Validate() error {
	switch s.Pull {
	case "", PullMissing, PullAlways, PullNever:
	default:
		return fmt.Errorf("pull: got %q, want %q, %q or %q", s.Pull, PullMissing, PullAlways, PullNever)
	}
	if s.Replicas < 0 {
		return fmt.Errorf("replicas: got %d, want 0 or more", s.Replicas)
	}
	ok := false
	for _, r := range restartPolicies {
		ok = ok || s.Restart == r
	}
	if !ok {
		return fmt.Errorf("restart: got %q, want one of %s", s.Restart, strings.Join(restartPolicies, ", "))
	}
	if err := s.validateNetworkMode(); err != nil {
		return err
	}
	most := s.Replicas
	if s.Autoscale != nil {
		most = s.Autoscale.Max
	}
	for _, p := range s.Ports {
		if n := p.HostPorts(); n > 0 && n < most {
			return fmt.Errorf("ports: %q gives %d host port(s) for %d replicas; give a range with a port per replica (\"%d-%d:%d\"), or publish \"%d\" so each replica gets a free host port; services reach every replica through the name %q either way",
				p.String(), n, most, p.HostStart, p.HostStart+most-1, p.Container, p.Container, s.Name)
		}
	}
	if err := s.validateUpdate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, v := range s.Volumes {
		if seen[v.Target] {
			return fmt.Errorf("volumes: %s is mounted twice", v.Target)
		}
		seen[v.Target] = true
	}
	return nil
}

// validateNetworkMode checks network_mode against what it leaves out: a
// container on the host's network stack (or on none) joins no network of
// the project and publishes no ports.
func (s *ServiceSpec) validateNetworkMode() error {
	switch s.NetworkMode {
	case "", "host", "none":
	default:
		return fmt.Errorf("network_mode: got %q, want \"host\", \"none\", or \"bridge\" (the default: the project's network)", s.NetworkMode)
	}
	if s.NetworkMode == "" {
		return nil
	}
	why := "the container shares the host's network stack, so its ports are the host's ports already"
	if s.NetworkMode == "none" {
		why = "the container has no network but loopback"
	}
	if len(s.Ports) > 0 {
		return fmt.Errorf("network_mode = %q cannot be combined with ports: %s; drop ports (or network_mode)", s.NetworkMode, why)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Sysctls)) {
		if strings.HasPrefix(k, "net.") && s.NetworkMode == "host" {
			return fmt.Errorf("network_mode = \"host\" cannot be combined with the sysctl %s: %s, whose parameters a container cannot change; drop it (or network_mode)", k, why)
		}
	}
	if len(s.Networks) > 0 {
		return fmt.Errorf("network_mode = %q cannot be combined with networks: %s, and it joins no network of the project (other services cannot reach it by name); drop networks (or network_mode)", s.NetworkMode, why)
	}
	if h := s.Health; s.NetworkMode == "none" && h != nil && h.Probed() {
		return fmt.Errorf("health: network_mode = \"none\" leaves nothing for ferry to probe health.%s through; use health.exec, which the Engine runs inside the container", h.Kind)
	}
	return nil
}
