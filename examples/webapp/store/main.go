// Command store is the example's second service: a hit counter over HTTP,
// kept in memory and saved to $DATA_DIR (a named volume), so the count
// survives `ferry down` and `ferry up` but not `ferry down --volumes`.
//
//	store            serve on :$PORT (POST /hits adds one, with the bearer
//	                 token in $TOKEN_FILE; GET /hits reads)
//	store migrate    prepare $DATA_DIR once: the job that runs before the service
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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const schema = "1"

func main() {
	log.SetFlags(0)
	dir := env("DATA_DIR", "/data")
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		if err := migrate(dir); err != nil {
			log.Fatalf("migrate: %v", err)
		}
		return
	}
	token, err := os.ReadFile(env("TOKEN_FILE", "/run/secrets/store_token"))
	if err != nil || len(token) == 0 {
		log.Fatalf("no token to check callers against (%v): mount one at $TOKEN_FILE", err)
	}
	if err := serve(dir, env("PORT", "9000"), strings.TrimSpace(string(token))); err != nil {
		log.Fatal(err)
	}
}

// migrate writes the schema version into dir, the step the service
// refuses to start without.
func migrate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "schema")); err == nil && strings.TrimSpace(string(b)) == schema {
		fmt.Printf("%s is at schema %s already\n", dir, schema)
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "schema"), []byte(schema+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("migrated %s to schema %s\n", dir, schema)
	return nil
}

type counter struct {
	mu   sync.Mutex
	n    int
	file string
}

func (c *counter) add() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n, os.WriteFile(c.file, []byte(strconv.Itoa(c.n)), 0o644)
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func serve(dir, port, token string) error {
	b, err := os.ReadFile(filepath.Join(dir, "schema"))
	if err != nil || strings.TrimSpace(string(b)) != schema {
		return fmt.Errorf("%s is not at schema %s: run `store migrate` first (ferry's migrate job does)", dir, schema)
	}
	c := &counter{file: filepath.Join(dir, "count")}
	if b, err := os.ReadFile(c.file); err == nil {
		c.n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	http.HandleFunc("/hits", func(w http.ResponseWriter, r *http.Request) {
		n := c.get()
		if r.Method == http.MethodPost {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "POST /hits needs Authorization: Bearer TOKEN", http.StatusUnauthorized)
				return
			}
			if n, err = c.add(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"count": n})
	})
	srv := &http.Server{Addr: ":" + port}
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
	log.Printf("store: counting hits on :%s (count %d, data in %s)", port, c.n, dir)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Printf("store: stopped at count %d", c.get())
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
