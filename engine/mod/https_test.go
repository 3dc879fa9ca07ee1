package mod

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A module over https, from a server that wants a password: git's own
// credential helper (configured as a user would) supplies it, and the
// server's certificate is trusted through git's own setting. Without the
// credential, the fetch fails at once with git's message; it never waits
// for a password on the terminal.
func TestHTTPSWithCredentials(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + srv.Base, "GIT_HTTP_EXPORT_ALL=1"}}
	https := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(https.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: https.Certificate().Raw}), 0o600)
	t.Setenv("GIT_SSL_CAINFO", ca)
	repo := https.URL + "/lib/.git"
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", repo),
		"ferry.star": "load('@lib//greet.star', 'greeting')\nx = greeting('https')",
	})

	t.Setenv("GIT_CONFIG_COUNT", "0")
	_, err = Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "ferry.mod:1:1", "cannot reach "+repo, "credentials")

	store := filepath.Join(dir, "git-credentials")
	host := strings.TrimPrefix(https.URL, "https://")
	os.WriteFile(store, []byte("https://ci:s3cret@"+host+"\n"), 0o600)
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "credential.helper")
	t.Setenv("GIT_CONFIG_VALUE_0", "store --file="+store)
	if _, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	if lock := readFile(t, filepath.Join(ws, LockFileName)); strings.Contains(lock, "s3cret") {
		t.Errorf("ferry.lock holds the password:\n%s", lock)
	}
}
