// Command db is the example's database-like service, the stand-in for an
// image such as postgres:16 that a stack pulls rather than builds: a
// key-value store over HTTP that appends every write to a log in
// $DATA_DIR (a named volume) and replays it at start, so its data survive
// `ferry down` and `ferry up` (but not `ferry down --volumes`).
//
//	GET  /healthz       200 once the log is replayed: the health check
//	GET  /kv/KEY        the value of KEY, or 404
//	PUT  /kv/KEY        set KEY to the request body
//	POST /incr/KEY      add one to the integer in KEY and answer the new value
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

func main() {
	log.SetFlags(0)
	s, err := open(filepath.Join(env("DATA_DIR", "/data"), "db.log"))
	if err != nil {
		log.Fatalf("db: %v", err)
	}
	defer s.close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.get(r.PathValue("key"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("PUT /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = s.set(r.PathValue("key"), string(b))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /incr/{key}", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.incr(r.PathValue("key"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n)
	})
	addr := ":" + env("PORT", "7000")
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("db: %d keys, listening on %s", s.len(), addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("db: %v", err)
	}
}

// A store holds the keys in memory and appends each write to its log, a
// JSON object per line.
type store struct {
	mu   sync.Mutex
	data map[string]string
	log  *os.File
}

type entry struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// open replays the log at path and opens it for appending.
func open(path string) (*store, error) {
	s := &store{data: map[string]string{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 2<<20)
		for sc.Scan() {
			var e entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s is damaged: %v", path, err)
			}
			s.data[e.Key] = e.Value
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.log = f
	return s, nil
}

func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

func (s *store) get(k string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[k]
	return v, ok
}

func (s *store) set(k, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(k, v)
}

func (s *store) incr(k string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(strings.TrimSpace(s.data[k]))
	n++
	return n, s.write(k, strconv.Itoa(n))
}

// write logs and sets k; the caller holds mu.
func (s *store) write(k, v string) error {
	b, err := json.Marshal(entry{k, v})
	if err != nil {
		return err
	}
	if _, err := s.log.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return err
	}
	s.data[k] = v
	return nil
}

func (s *store) close() { s.log.Close() }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
