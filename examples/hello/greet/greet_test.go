package greet

import "testing"

func TestHello(t *testing.T) {
	if got := Hello("ferry"); got != "hello, ferry" {
		t.Fatalf("Hello = %q", got)
	}
}
