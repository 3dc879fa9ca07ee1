// Command hello is the example's service: GET / greets, naming the pod
// that answered and whether its token arrived (never the token itself),
// and GET /healthz answers ok once the token file can be read, which the
// readiness probe of its pods asks.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	check := flag.Bool("check", false, "ask the running server's /healthz and exit 0 if it answers ok (the image's HEALTHCHECK)")
	flag.Parse()
	log.SetFlags(0)
	port := env("PORT", "8080")
	if *check {
		os.Exit(healthy("http://127.0.0.1:" + port + "/healthz"))
	}
	greeting := env("GREETING", "hello from ferry")
	tokenFile := env("TOKEN_FILE", "/run/secrets/hello_token")
	host, _ := os.Hostname()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		_, err := token(tokenFile)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"message": greeting, "served_by": host, "token_present": err == nil})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := token(tokenFile); err != nil {
			http.Error(w, "no token: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// Kubernetes stops a pod with SIGTERM: finish the requests in flight.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("hello: listening on :%s", port)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// token reads the secret file; an empty one is an error.
func token(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return t, nil
}

// healthy returns 0 when url answers 200, else 1.
func healthy(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
