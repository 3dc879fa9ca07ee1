// Package k8stest starts the test cluster of hack/k8s/cluster.sh for the
// tests of the Kubernetes target: a real API server on 127.0.0.1 (with
// etcd), and in full mode a real node (controllers, scheduler, kubelet,
// containerd) that runs pods of images imported with ctr.
package k8stest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Modes of a cluster.
const (
	API  = "api"  // etcd and kube-apiserver: apply, prune, dry run
	Full = "full" // and a node that runs pods
)

// A Cluster is a running test cluster; Stop tears it down.
type Cluster struct {
	Mode       string
	Kubeconfig string
	// Containerd is the socket of the node's containerd (full mode).
	Containerd string
	// Registry is the host:port on 127.0.0.1 that the node's containerd
	// pulls from over plain HTTP: a test serves a registry there.
	Registry string
	run      string
	env      []string
	external bool // not started here: Stop leaves it
}

// script is hack/k8s/cluster.sh of this repository.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "hack", "k8s", "cluster.sh")
}

// FromEnv returns the cluster that FERRY_K8S_KUBECONFIG names, already
// running (FERRY_K8S_MODE says whether it has a node, FERRY_K8S_CONTAINERD
// where its containerd listens, FERRY_K8S_REGISTRY the registry it trusts),
// or nil: `cluster.sh env` prints these
// (as KUBECONFIG), so a CI run can bring one cluster up for every package.
// Stop leaves such a cluster running.
func FromEnv() *Cluster {
	kc := os.Getenv("FERRY_K8S_KUBECONFIG")
	if kc == "" {
		return nil
	}
	mode := os.Getenv("FERRY_K8S_MODE")
	if mode == "" {
		mode = API
	}
	return &Cluster{Mode: mode, Kubeconfig: kc, Containerd: os.Getenv("FERRY_K8S_CONTAINERD"), Registry: os.Getenv("FERRY_K8S_REGISTRY"), external: true}
}

// Built reports whether the cluster's binaries are built (cluster.sh
// build takes minutes the first time, so tests do not start it).
func Built() bool {
	return exec.Command(script(), "built").Run() == nil
}

// Kubectl returns the path of the kubectl built with the cluster's
// binaries, or an error when it is not built.
func Kubectl() (string, error) {
	out, err := exec.Command(script(), "bin").Output()
	if err != nil {
		return "", fmt.Errorf("cluster.sh bin: %v", err)
	}
	kubectl := filepath.Join(strings.TrimSpace(string(out)), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		return "", fmt.Errorf("kubectl is not built: run hack/k8s/cluster.sh build: %v", err)
	}
	return kubectl, nil
}

// Start brings up a cluster in mode, with its own folder and free ports, so
// it stays apart from any other cluster of the machine (the full mode's
// bridge and cgroup names are fixed: one full cluster at a time). The
// returned error quotes the script's output.
func Start(mode string) (*Cluster, error) {
	run, err := os.MkdirTemp("", "ferry-k8s-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Mode: mode, run: run, Registry: "127.0.0.1:" + strconv.Itoa(ports[3])}
	c.env = append(os.Environ(),
		"FERRY_K8S_RUN="+filepath.Join(run, "cluster"),
		"FERRY_K8S_ETCD_PORT="+strconv.Itoa(ports[0]),
		"FERRY_K8S_API_PORT="+strconv.Itoa(ports[1]),
		"FERRY_K8S_KUBELET_PORT="+strconv.Itoa(ports[2]),
		"FERRY_K8S_REGISTRY=127.0.0.1:"+strconv.Itoa(ports[3]),
	)
	args := []string{"up"}
	if mode == API {
		args = append(args, API)
	}
	out, err := c.script(args...)
	if err != nil {
		os.RemoveAll(run)
		return nil, fmt.Errorf("cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "KUBECONFIG":
			c.Kubeconfig = v
		case "FERRY_K8S_CONTAINERD":
			c.Containerd = v
		}
	}
	if c.Kubeconfig == "" {
		c.Stop()
		return nil, fmt.Errorf("cluster.sh up printed no KUBECONFIG:\n%s", out)
	}
	return c, nil
}

func (c *Cluster) script(args ...string) ([]byte, error) {
	cmd := exec.Command(script(), args...)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Stop tears the cluster down: every process by its PID, the node's
// mounts, bridge and cgroups, and its folder.
func (c *Cluster) Stop() error {
	if c.external {
		return nil
	}
	out, err := c.script("down")
	if err != nil {
		return fmt.Errorf("cluster.sh down: %v\n%s", err, out)
	}
	return os.RemoveAll(c.run)
}

// ImportImage imports the image archive tar (docker save or OCI layout
// format) into the node's containerd, for pods to run without a registry.
func (c *Cluster) ImportImage(tar string) error {
	if c.Mode != Full {
		return fmt.Errorf("the cluster has no node (mode %s)", c.Mode)
	}
	out, err := exec.Command("ctr", "--address", c.Containerd, "-n", "k8s.io", "images", "import", tar).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import %s: %v\n%s", tar, err, out)
	}
	return nil
}

// freePorts returns n ports that were free on 127.0.0.1 a moment ago, each
// with the port after it free too (etcd takes two).
func freePorts(n int) ([]int, error) {
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			continue
		}
		held = append(held, next)
		// The kubelet's health port is two below its port.
		prev, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p-2))
		if err != nil {
			continue
		}
		held = append(held, prev)
		ports = append(ports, p)
	}
	return ports, nil
}
