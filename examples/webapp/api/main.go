// Command api is the example's public service: GET / answers with JSON
// that includes a hit count it gets from the store service, which it
// reaches by its service name on the project's network.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	store := env("STORE_URL", "http://store:9000")
	token := os.Getenv("STORE_TOKEN")
	greeting := env("GREETING", "hello from ferry")
	port := env("PORT", "8080")
	host, _ := os.Hostname()
	client := &http.Client{Timeout: 5 * time.Second}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		count, err := hit(client, store, token)
		if err != nil {
			log.Printf("GET / from %s: store: %v", r.RemoteAddr, err)
			http.Error(w, fmt.Sprintf(`{"error": %q}`, err.Error()), http.StatusBadGateway)
			return
		}
		log.Printf("GET / from %s: hit %d", r.RemoteAddr, count)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"message": greeting, "count": count, "served_by": host})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})

	srv := &http.Server{Addr: ":" + port, Handler: mux}
	// ferry stops a container with SIGTERM (on down, or when it replaces
	// it): finish the requests in flight, then exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("api: listening on :%s, counting hits in %s", port, store)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// hit asks the store to count one more hit and returns the new count.
func hit(client *http.Client, store, token string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, store+"/hits", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s/hits: %s", store, resp.Status)
	}
	var body struct{ Count int }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return body.Count, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
