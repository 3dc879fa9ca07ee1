package dockertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// AutoscaleImage builds examples/autoscale/app FROM scratch, removed when
// the test ends. It finds the example from the folder of a package two
// levels below builtins/ (builtins/docker/local, say), where its tests
// run.
func AutoscaleImage(t testing.TB) string {
	t.Helper()
	src, err := filepath.Abs("../../../examples/autoscale/app")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "app"), ".")
	build.Dir, build.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "ferrytest/autoscale-" + RandomHex(t)
	docker := exec.Command("docker", "build", "-q", "-t", tag, dir)
	docker.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := docker.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}
