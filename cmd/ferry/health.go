package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// defaultWaitTimeout is how long `ferry up --wait` waits for health.
const defaultWaitTimeout = 60 * time.Second

// printStatusNotes lists, under the status table, why services are not
// healthy, and what scales the autoscaled ones.
func printStatusNotes(w io.Writer, list []deploy.ServiceStatus) {
	for _, s := range list {
		if s.HealthError != "" {
			fmt.Fprintf(w, "%s is %s: %s\n", s.Name, s.Health, s.HealthError)
		}
		if s.Scaling != "" {
			fmt.Fprintf(w, "%s is autoscaled by %s\n", s.Name, s.Scaling)
		}
		for _, c := range s.Unadopted {
			fmt.Fprintf(w, "%s: %s is the new replica of a rollout that stopped; it is not counted, and the next `ferry up` removes it\n", s.Name, c)
		}
	}
}
