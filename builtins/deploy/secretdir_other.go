//go:build !linux

package deploy

// isTmpfs reports whether dir is on a tmpfs. Only Linux is asked: elsewhere
// the Docker Engine runs in a VM (Docker Desktop), whose bind mounts of
// host folders do not keep files off a disk.
func isTmpfs(string) (bool, error) { return false, nil }
