package deploy

import (
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// Settings are the container settings compose users expect: capabilities,
// a read-only root, tmpfs mounts, how the container stops, its names and
// limits. The zero value is Docker's default for each.
type Settings struct {
	CapAdd      []string // capability names without CAP_, upper case; "ALL"
	CapDrop     []string
	ReadOnly    bool // a read-only root filesystem
	SecurityOpt []string
	Tmpfs       []Tmpfs
	Init        bool   // run an init process as PID 1
	StopSignal  string // "" : the image's (SIGTERM)
	// StopGracePeriod is how long the container is given after its stop
	// signal before it is killed; 0: DefaultStopGrace.
	StopGracePeriod time.Duration
	ExtraHosts      []string // "host:ip", ip may be "host-gateway"
	DNS             []string
	Hostname        string
	ShmSize         int64 // bytes, 0: Docker's 64 MiB
	Ulimits         []Ulimit
	Sysctls         map[string]string
	Devices         []Device
	// MaxRestarts bounds restart = "on-failure:N"; 0: no bound.
	MaxRestarts int
	// HealthDisabled turns off the image's HEALTHCHECK (health.disable()).
	HealthDisabled bool
	// NoDefaultNetwork keeps the service off the project's network
	// (default_network = False).
	NoDefaultNetwork bool
	// Aliases are the service's other names, by network (DefaultNetwork
	// for the project's).
	Aliases map[string][]string
}

// DefaultStopGrace is how long ferry gives a container after its stop
// signal, unless stop_grace_period says otherwise. It is shorter than
// Docker's 10 s: a development loop replaces containers often.
const DefaultStopGrace = 5 * time.Second

// StopGrace returns the grace period to stop the service's containers with.
func (s *Settings) StopGrace() time.Duration {
	if s.StopGracePeriod == 0 {
		return DefaultStopGrace
	}
	return s.StopGracePeriod
}

// A Tmpfs is a tmpfs mounted at Path, with Docker's mount options
// ("size=64m,mode=1777") or none.
type Tmpfs struct {
	Path    string
	Options string
}

// A Ulimit is a resource limit of the container's processes.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// A Device is a host device made available in the container.
type Device struct {
	Host, Container string
	Perms           string // some of r, w, m
}

// Capabilities are the Linux capabilities, without their CAP_ prefix.
var Capabilities = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
	"KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
	"SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
	"SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
	"WAKE_ALARM",
}

// ulimitNames are the resource limits Docker takes.
var ulimitNames = []string{
	"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
	"nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}

// parseCapabilities normalises capability names as Docker takes them
// ("net_admin", "CAP_NET_ADMIN" are NET_ADMIN) and refuses unknown ones.
func parseCapabilities(attr string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		c := strings.TrimPrefix(strings.ToUpper(n), "CAP_")
		if c != "ALL" && !slices.Contains(Capabilities, c) {
			hint := "see `man 7 capabilities`"
			if s := engine.Suggest(c, append([]string{"ALL"}, Capabilities...)); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			return nil, fmt.Errorf("%s: %q is not a Linux capability; %s", attr, n, hint)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ParseTmpfs parses "/path" or "/path:size=64m,mode=1777".
func ParseTmpfs(s string) (Tmpfs, error) {
	p, opts, _ := strings.Cut(s, ":")
	if !strings.HasPrefix(p, "/") || path.Clean(p) == "/" {
		return Tmpfs{}, fmt.Errorf("tmpfs %q: want an absolute container path other than /, with options after a colon (\"/run:size=64m,mode=1777\")", s)
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "":
		case "size":
			if _, err := ParseMemory(v); err != nil {
				return Tmpfs{}, fmt.Errorf("tmpfs %q: size: %v", s, err)
			}
		case "mode":
			if _, err := strconv.ParseUint(v, 8, 32); err != nil {
				return Tmpfs{}, fmt.Errorf("tmpfs %q: mode %q: want octal permissions such as 1777", s, v)
			}
		case "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "uid", "gid", "nr_inodes":
		default:
			return Tmpfs{}, fmt.Errorf("tmpfs %q: unknown option %q; want size, mode, uid, gid, nr_inodes, ro, noexec, nosuid or nodev", s, k)
		}
	}
	return Tmpfs{Path: path.Clean(p), Options: opts}, nil
}

// ParseExtraHost parses "host:ip", as compose writes it ("host=ip" too),
// where ip may be "host-gateway", the Engine's address on the host.
func ParseExtraHost(s string) (string, error) {
	host, ip, ok := strings.Cut(s, "=")
	if !ok {
		host, ip, ok = strings.Cut(s, ":")
	}
	if !ok || host == "" {
		return "", fmt.Errorf("extra_hosts %q: want HOST:IP, such as \"db.local:10.0.0.5\" or \"host.docker.internal:host-gateway\"", s)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if _, err := netip.ParseAddr(ip); err != nil && ip != "host-gateway" {
		return "", fmt.Errorf("extra_hosts %q: %q is not an IP address (or host-gateway)", s, ip)
	}
	return host + ":" + ip, nil
}

// parseUlimits parses {"nofile": 65536} or {"nofile": "1024:65536"}.
func parseUlimits(v starlark.Value) ([]Ulimit, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("got %s, want a dict such as {\"nofile\": \"1024:65536\", \"nproc\": 512}", v.Type())
	}
	var out []Ulimit
	for _, item := range d.Items() {
		name, _ := starlark.AsString(item[0])
		if !slices.Contains(ulimitNames, name) {
			hint := "want one of " + strings.Join(ulimitNames, ", ")
			if s := engine.Suggest(name, ulimitNames); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			return nil, fmt.Errorf("unknown limit %s; %s", item[0], hint)
		}
		u := Ulimit{Name: name}
		bad := fmt.Errorf("%s: got %s, want a number or \"SOFT:HARD\" (such as \"1024:65536\")", name, item[1])
		switch x := item[1].(type) {
		case starlark.Int:
			n, ok := x.Int64()
			if !ok {
				return nil, bad
			}
			u.Soft, u.Hard = n, n
		case starlark.String:
			soft, hard, isPair := strings.Cut(string(x), ":")
			var err1, err2 error
			u.Soft, err1 = strconv.ParseInt(soft, 10, 64)
			u.Hard, err2 = u.Soft, nil
			if isPair {
				u.Hard, err2 = strconv.ParseInt(hard, 10, 64)
			}
			if err1 != nil || err2 != nil {
				return nil, bad
			}
		default:
			return nil, bad
		}
		if u.Soft < -1 || u.Hard < -1 || u.Hard != -1 && (u.Soft == -1 || u.Soft > u.Hard) {
			return nil, fmt.Errorf("%s: soft limit %d above hard limit %d; want SOFT <= HARD (-1: unlimited)", name, u.Soft, u.Hard)
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Ulimit) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// parseSysctls parses {"net.core.somaxconn": 1024}: values as strings or numbers.
func parseSysctls(v starlark.Value) (map[string]string, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("got %s, want a dict such as {\"net.core.somaxconn\": 1024}", v.Type())
	}
	out := map[string]string{}
	for _, item := range d.Items() {
		k, ok := starlark.AsString(item[0])
		if !ok || k == "" || strings.ContainsAny(k, " =") {
			return nil, fmt.Errorf("%s is not a sysctl name such as \"net.core.somaxconn\"", item[0])
		}
		if why := notNamespaced(k); why != "" {
			return nil, fmt.Errorf("%s %s; a container may set only namespaced parameters: net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*", k, why)
		}
		switch x := item[1].(type) {
		case starlark.String:
			out[k] = string(x)
		case starlark.Int:
			out[k] = x.String()
		default:
			return nil, fmt.Errorf("%s: got %s, want a string or an int", k, item[1].Type())
		}
	}
	return out, nil
}

// notNamespaced says why the kernel parameter k is not one a container
// may set (the host's for every container), "" when it is: the list the
// Engine checks when the container starts.
func notNamespaced(k string) string {
	switch k {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.domainname":
		return ""
	}
	if strings.HasPrefix(k, "net.") || strings.HasPrefix(k, "fs.mqueue.") {
		return ""
	}
	if k == "kernel.hostname" {
		return "is set with hostname ="
	}
	return "is the host's, shared by every container"
}

// ParseDevice parses "/dev/x", "/dev/x:/dev/y" or "/dev/x:/dev/y:rwm".
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{Host: parts[0], Container: parts[0], Perms: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if strings.Trim(parts[1], "rwm") == "" {
			d.Perms = parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Container, d.Perms = parts[1], parts[2]
	default:
		return d, fmt.Errorf("devices %q: want HOST[:CONTAINER][:PERMISSIONS], such as \"/dev/fuse\" or \"/dev/ttyUSB0:/dev/ttyUSB0:rw\"", s)
	}
	if !strings.HasPrefix(d.Host, "/") || !strings.HasPrefix(d.Container, "/") {
		return d, fmt.Errorf("devices %q: want absolute device paths, such as /dev/fuse", s)
	}
	if d.Perms == "" || strings.Trim(d.Perms, "rwm") != "" {
		return d, fmt.Errorf("devices %q: permissions %q, want some of r, w and m (rwm)", s, d.Perms)
	}
	return d, nil
}

// parseRestart splits "on-failure:N" into on-failure and N.
func parseRestart(s string) (string, int, error) {
	policy, n, ok := strings.Cut(s, ":")
	if !ok {
		return s, 0, nil
	}
	bound, err := strconv.Atoi(n)
	if policy != "on-failure" || err != nil || bound < 1 {
		return "", 0, fmt.Errorf("restart: got %q; only on-failure takes a bound, a number of restarts such as \"on-failure:5\"", s)
	}
	return policy, bound, nil
}

// declareSettings reads the settings' attributes of service() and job().
func declareSettings(c *engine.Call, s *ServiceSpec) error {
	var err error
	if s.CapAdd, err = parseCapabilities("cap_add", c.Strings("cap_add")); err != nil {
		return c.Errorf("%v", err)
	}
	if s.CapDrop, err = parseCapabilities("cap_drop", c.Strings("cap_drop")); err != nil {
		return c.Errorf("%v", err)
	}
	s.ReadOnly = c.Bool("read_only", false)
	s.SecurityOpt = c.Strings("security_opt")
	for _, o := range s.SecurityOpt {
		k, _, _ := strings.Cut(o, "=")
		k, _, _ = strings.Cut(k, ":")
		switch k {
		case "seccomp":
			if v := strings.TrimSpace(o[len("seccomp")+1:]); v != "unconfined" && !strings.HasPrefix(v, "{") {
				return c.Errorf("security_opt: %q: seccomp= takes the profile itself, as JSON, not a file name (the Engine does not read files); write \"seccomp=\" + read_file(%q)", o, v)
			}
		case "no-new-privileges", "apparmor", "label", "systempaths", "mask", "unmask":
		default:
			return c.Errorf("security_opt: %q: want no-new-privileges:true, seccomp=PROFILE, apparmor=PROFILE or label=...", o)
		}
	}
	seen := map[string]bool{}
	for _, v := range s.Volumes {
		seen[v.Target] = true
	}
	for _, cf := range s.Configs {
		seen[cf.Target] = true
	}
	for _, ts := range c.Strings("tmpfs") {
		t, err := ParseTmpfs(ts)
		if err != nil {
			return c.Errorf("%v", err)
		}
		if seen[t.Path] {
			return c.Errorf("tmpfs: %s is mounted twice (in volumes, configs or tmpfs)", t.Path)
		}
		seen[t.Path] = true
		s.Tmpfs = append(s.Tmpfs, t)
	}
	s.Init = c.Bool("init", false)
	if sig := c.String("stop_signal"); sig != "" {
		if s.StopSignal, err = parseSignal(sig); err != nil {
			return c.Errorf("stop_signal: %v", err)
		}
	}
	if s.StopGracePeriod = c.Duration("stop_grace_period", 0); s.StopGracePeriod < 0 || s.StopGracePeriod%time.Second != 0 {
		return c.Errorf("stop_grace_period: got %s, want a whole number of seconds such as \"30s\" (Docker counts in seconds)", s.StopGracePeriod)
	}
	for _, h := range c.Strings("extra_hosts") {
		eh, err := ParseExtraHost(h)
		if err != nil {
			return c.Errorf("%v", err)
		}
		s.ExtraHosts = append(s.ExtraHosts, eh)
	}
	for _, ip := range c.Strings("dns") {
		if _, err := netip.ParseAddr(ip); err != nil {
			return c.Errorf("dns: %q is not an IP address; dns takes the addresses of name servers", ip)
		}
		s.DNS = append(s.DNS, ip)
	}
	if s.Hostname = c.String("hostname"); s.Hostname != "" && !validHostname(s.Hostname) {
		return c.Errorf("hostname: %q is not a host name (letters, digits, '-' and '.', at most 63 characters a label)", s.Hostname)
	}
	if shm := c.String("shm_size"); shm != "" {
		if s.ShmSize, err = ParseMemory(shm); err != nil {
			return c.Errorf("shm_size: %v", err)
		}
	}
	if v := c.Raw("ulimits"); v != nil {
		if s.Ulimits, err = parseUlimits(v); err != nil {
			return c.Errorf("ulimits: %v", err)
		}
	}
	if v := c.Raw("sysctls"); v != nil {
		if s.Sysctls, err = parseSysctls(v); err != nil {
			return c.Errorf("sysctls: %v", err)
		}
	}
	for _, ds := range c.Strings("devices") {
		d, err := ParseDevice(ds)
		if err != nil {
			return c.Errorf("%v", err)
		}
		s.Devices = append(s.Devices, d)
	}
	return nil
}

// signals are the signal names a stop_signal may give.
var signals = []string{
	"SIGABRT", "SIGALRM", "SIGHUP", "SIGINT", "SIGKILL", "SIGPWR", "SIGQUIT", "SIGRTMIN",
	"SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
}

// parseSignal takes "SIGINT", "INT", "sigint" or a number.
func parseSignal(s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return s, nil
	}
	sig := strings.ToUpper(s)
	if !strings.HasPrefix(sig, "SIG") {
		sig = "SIG" + sig
	}
	if !slices.Contains(signals, sig) {
		hint := "want a signal name such as SIGINT or SIGQUIT"
		if g := engine.Suggest(sig, signals); g != "" {
			hint = fmt.Sprintf("did you mean %q?", g)
		}
		return "", fmt.Errorf("%q is not a signal; %s", s, hint)
	}
	return sig, nil
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// key is the settings written out in one canonical line: "" at their
// defaults, so that adding them to ferry replaced no container.
func (s *Settings) key() string {
	var sb strings.Builder
	list := func(name string, l []string) {
		if len(l) > 0 {
			fmt.Fprintf(&sb, "%s=%q;", name, l)
		}
	}
	list("cap_add", s.CapAdd)
	list("cap_drop", s.CapDrop)
	if s.ReadOnly {
		sb.WriteString("read_only;")
	}
	list("security_opt", s.SecurityOpt)
	for _, t := range s.Tmpfs {
		fmt.Fprintf(&sb, "tmpfs=%q:%q;", t.Path, t.Options)
	}
	if s.Init {
		sb.WriteString("init;")
	}
	if s.StopSignal != "" {
		fmt.Fprintf(&sb, "stop_signal=%s;", s.StopSignal)
	}
	if s.StopGracePeriod != 0 {
		fmt.Fprintf(&sb, "stop_grace_period=%s;", s.StopGracePeriod)
	}
	list("extra_hosts", s.ExtraHosts)
	list("dns", s.DNS)
	if s.Hostname != "" {
		fmt.Fprintf(&sb, "hostname=%q;", s.Hostname)
	}
	if s.ShmSize != 0 {
		fmt.Fprintf(&sb, "shm_size=%d;", s.ShmSize)
	}
	for _, u := range s.Ulimits {
		fmt.Fprintf(&sb, "ulimit=%s:%d:%d;", u.Name, u.Soft, u.Hard)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Sysctls)) {
		fmt.Fprintf(&sb, "sysctl=%q:%q;", k, s.Sysctls[k])
	}
	for _, d := range s.Devices {
		fmt.Fprintf(&sb, "device=%q:%q:%s;", d.Host, d.Container, d.Perms)
	}
	if s.MaxRestarts != 0 {
		fmt.Fprintf(&sb, "max_restarts=%d;", s.MaxRestarts)
	}
	if s.HealthDisabled {
		sb.WriteString("health_disabled;")
	}
	if s.NoDefaultNetwork {
		sb.WriteString("no_default_network;")
	}
	for _, n := range slices.Sorted(maps.Keys(s.Aliases)) {
		fmt.Fprintf(&sb, "aliases=%q:%q;", n, s.Aliases[n])
	}
	return sb.String()
}
