// Command site serves the files under /srv/static, and at /greeting the
// text of /etc/site/greeting.txt, which it reads again on SIGHUP.
// `site check FILE` checks a greeting file, for a live update to run
// before the signal.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
)

const greetingFile = "/etc/site/greeting.txt"

func readGreeting(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	g := strings.TrimSpace(string(b))
	if g == "" || len(g) > 200 {
		return "", fmt.Errorf("%s: want one line of 1 to 200 characters", name)
	}
	return g, nil
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "check" {
		if _, err := readGreeting(os.Args[2]); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("greeting ok")
		return
	}
	var greeting atomic.Value
	load := func() {
		g, err := readGreeting(greetingFile)
		if err != nil {
			log.Printf("keeping the greeting: %v", err)
			return
		}
		greeting.Store(g)
		log.Printf("greeting: %s", g)
	}
	greeting.Store("hello")
	load()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			load()
		}
	}()
	http.Handle("/", http.FileServer(http.Dir("/srv/static")))
	http.HandleFunc("/greeting", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greeting.Load())
	})
	log.Print("listening on :8080")
	log.Fatal(http.ListenAndServe(":8080", nil))
}
