package dockerapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi/enginetest"
)

// pullStream is the start of a pull's JSON message stream as the Engine
// sends it, up to a layer half downloaded.
const pullStream = `{"status":"Pulling from stack/db","id":"1"}
{"status":"Pulling fs layer","progressDetail":{},"id":"39a74e8cd3fc"}
{"status":"Pulling fs layer","progressDetail":{},"id":"30917bb06ebf"}
{"status":"Downloading","progressDetail":{"current":524288,"total":8812345},"progress":"[==>   ]","id":"39a74e8cd3fc"}
`

// A pull that runs out of disk space is a *PullError that says so, for
// each way the Engine words it; layers that were reported before stay
// reported.
func TestPullNoSpace(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		noSpace    bool
	}{
		// Downloading, into the Engine's tmp folder.
		{"download", `{"errorDetail":{"message":"write /var/lib/docker/tmp/GetImageBlob872957069: no space left on device"},"error":"write /var/lib/docker/tmp/GetImageBlob872957069: no space left on device"}`, true},
		// Unpacking a layer (the overlay2 graph driver).
		{"register", `{"errorDetail":{"message":"failed to register layer: Error processing tar file(exit status 1): write /usr/lib/x86_64-linux-gnu/libgio-2.0.so.0: no space left on device"},"error":"failed to register layer: Error processing tar file(exit status 1): write /usr/lib/x86_64-linux-gnu/libgio-2.0.so.0: no space left on device"}`, true},
		// containerd's image store.
		{"extract", `{"errorDetail":{"message":"failed to extract layer sha256:30917bb06ebf: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs/db: no space left on device"}}`, true},
		{"quota", `{"errorDetail":{"message":"failed to register layer: write /db: disk quota exceeded"},"error":"failed to register layer: write /db: disk quota exceeded"}`, true},
		// Not a full disk.
		{"not found", `{"errorDetail":{"message":"manifest for 127.0.0.1:5000/stack/db:2 not found: manifest unknown: manifest unknown"},"error":"manifest for 127.0.0.1:5000/stack/db:2 not found: manifest unknown: manifest unknown"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", enginetest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/images/create" {
					http.Error(w, `{"message":"unexpected call"}`, http.StatusNotImplemented)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, pullStream+tc.line+"\n")
			})))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var layers []string
			err := New().Pull(ctx, "127.0.0.1:5000/stack/db:1", "", func(p LayerProgress) { layers = append(layers, p.ID+" "+p.Status) })
			var pe *PullError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *PullError", err)
			}
			if pe.NoSpace != tc.noSpace || pe.Auth {
				t.Errorf("NoSpace = %v, Auth = %v for %q; want NoSpace %v", pe.NoSpace, pe.Auth, pe.Message, tc.noSpace)
			}
			if strings.Contains(pe.Message, "\n") || !strings.Contains(tc.line, pe.Message) {
				t.Errorf("message %q is not the Engine's, on one line", pe.Message)
			}
			want := []string{"39a74e8cd3fc Pulling fs layer", "30917bb06ebf Pulling fs layer", "39a74e8cd3fc Downloading"}
			if !slices.Equal(layers, want) {
				t.Errorf("layers reported: %q, want %q", layers, want)
			}
		})
	}
}
