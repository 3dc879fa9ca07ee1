// Command pause is the test cluster's sandbox (pause) image: it holds a pod's namespaces open
// and exits on SIGTERM or SIGINT. cluster.sh builds it statically into an image FROM scratch,
// since no public registry is reachable to pull registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
