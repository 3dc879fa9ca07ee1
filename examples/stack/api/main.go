// Command api is the example's public service: GET / counts a visit in
// the db service, which it reaches by its service name on the project's
// network, and answers with JSON that includes the count.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	db := env("DB_URL", "http://db:7000")
	greeting := env("GREETING", "hello from ferry")
	port := env("PORT", "8080")
	client := &http.Client{Timeout: 5 * time.Second}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		count, err := visit(client, db)
		if err != nil {
			log.Printf("GET / from %s: db: %v", r.RemoteAddr, err)
			http.Error(w, fmt.Sprintf(`{"error": %q}`, err.Error()), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"message": greeting, "count": count})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })

	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("api: listening on :%s, counting visits in %s", port, db)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// visit adds one to the db's "visits" key and returns the new count.
func visit(client *http.Client, db string) (int, error) {
	resp, err := client.Post(db+"/incr/visits", "text/plain", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s/incr/visits: %s: %s", db, resp.Status, strings.TrimSpace(string(body)))
	}
	return strconv.Atoi(strings.TrimSpace(string(body)))
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
