package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// defaultWaitTimeout is how long `ferry up --wait` waits for health.
const defaultWaitTimeout = 60 * time.Second

// printHealthErrors lists, under the status table, why services are not
// healthy.
func printHealthErrors(w io.Writer, list []deploy.ServiceStatus) {
	for _, s := range list {
		if s.HealthError != "" {
			fmt.Fprintf(w, "%s is %s: %s\n", s.Name, s.Health, s.HealthError)
		}
		for _, c := range s.Unadopted {
			fmt.Fprintf(w, "%s: %s is the new replica of a rollout that stopped; it is not counted, and the next `ferry up` removes it\n", s.Name, c)
		}
	}
}
