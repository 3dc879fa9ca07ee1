package deploy

import "testing"

func TestIsTmpfs(t *testing.T) {
	if ok, err := isTmpfs("/dev/shm"); err != nil || !ok {
		t.Errorf("/dev/shm: %v, %v; want a tmpfs", ok, err)
	}
	if ok, err := isTmpfs("/proc"); err != nil || ok {
		t.Errorf("/proc: %v, %v; want no tmpfs", ok, err)
	}
}
