// Command registry is the example's stand-in for Docker Hub: an image
// registry (go-containerregistry's, which keeps what it is sent in
// memory) on :5000 in its container. The example publishes it on
// 127.0.0.1 only, where the Docker Engine trusts a registry over plain
// HTTP; nothing else should reach it.
package main

import (
	"log"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	log.SetFlags(0)
	addr := ":" + env("PORT", "5000")
	srv := &http.Server{
		Addr:              addr,
		Handler:           registry.New(registry.Logger(log.New(os.Stderr, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("registry: listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
