package exporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// A Server serves an Exporter's metrics on the loopback interface.
type Server struct {
	Addr string // host:port it listens on
	srv  *http.Server
	done chan error
}

// Path is where a Server serves the metrics.
const Path = "/metrics"

// Serve listens on 127.0.0.1:port (port 0: a free one) and serves x's
// metrics at Path until Close.
func (x *Exporter) Serve(port int) (*Server, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("serve metrics: %w; choose another port with --metrics-port (0 picks a free one, -1 serves none)", err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, x.Handler())
	s := &Server{
		Addr: l.Addr().String(),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// URL returns the address of the metrics.
func (s *Server) URL() string { return "http://" + s.Addr + Path }

// Close stops the server, letting a scrape in progress finish for up to a
// second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
