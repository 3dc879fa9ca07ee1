// Command app is the autoscale example's service and its load generator,
// one static binary for a FROM scratch image.
//
//	app serve                  count GET / in http_requests_total, served on /metrics, at :8080
//	app load URL RATE [FOR]    GET URL RATE times a second for FOR (a duration; default:
//	                           forever), then idle
//	app spin PERCENT           also keep PERCENT of one core busy (for metric = "cpu")
//
// The load generator opens a new connection for every request, so Docker's
// DNS spreads them over the service's replicas.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		load(os.Args[2:])
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "spin" {
		pct, err := strconv.Atoi(os.Args[2])
		if err != nil || pct < 1 || pct > 100 {
			fmt.Fprintf(os.Stderr, "spin %q: want a percentage of one core, 1-100\n", os.Args[2])
			os.Exit(2)
		}
		go spin(pct)
	}
	var requests atomic.Int64
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# HELP http_requests_total Requests to /.\n# TYPE http_requests_total counter\nhttp_requests_total %d\n", requests.Load())
	})
	fmt.Println("serving on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func load(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app load URL RATE [FOR]")
		os.Exit(2)
	}
	rate, err := strconv.Atoi(args[1])
	if err != nil || rate < 1 {
		fmt.Fprintf(os.Stderr, "rate %q: want a whole number of requests a second\n", args[1])
		os.Exit(2)
	}
	var end <-chan time.Time
	if len(args) > 2 {
		d, err := time.ParseDuration(args[2])
		if err != nil {
			fmt.Fprintf(os.Stderr, "for %q: %v\n", args[2], err)
			os.Exit(2)
		}
		end = time.After(d)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	fmt.Printf("sending %d requests a second to %s\n", rate, args[0])
	for {
		select {
		case <-end:
			fmt.Println("load done; idling")
			for {
				time.Sleep(time.Hour)
			}
		case <-tick.C:
			go func() {
				if resp, err := client.Get(args[0]); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
}

// spin keeps pct percent of one core busy: busy, then asleep, every 100 ms.
func spin(pct int) {
	busy := time.Duration(pct) * time.Millisecond
	for {
		end := time.Now().Add(busy)
		for time.Now().Before(end) {
		}
		time.Sleep(100*time.Millisecond - busy)
	}
}
