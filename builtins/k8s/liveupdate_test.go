package k8s

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// liveTarSrc serves :8080 until told otherwise. Called as tar, it does
// `tar -xmf - -C DIR` with archive/tar, as an image with tar would;
// `read PATH` prints a file, `mark` writes /srv/mark.
const liveTarSrc = `package main

import (
	"archive/tar"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

func untar(dir string) error {
	tr := tar.NewReader(os.Stdin)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode)); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(h.Mode))
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				return err
			}
			f.Close()
		}
	}
}

func main() {
	if filepath.Base(os.Args[0]) == "tar" {
		if len(os.Args) != 5 || os.Args[1] != "-xmf" || os.Args[2] != "-" || os.Args[3] != "-C" {
			fmt.Fprintln(os.Stderr, "usage: tar -xmf - -C DIR")
			os.Exit(2)
		}
		if err := untar(os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "read" {
		b, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "mark" {
		if err := os.WriteFile("/srv/mark", []byte("marked"), 0o644); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	http.ListenAndServe(":8080", nil)
}
`

// A live update reaches the running pod of a service through exec: the
// synced files are extracted by the image's tar and the run step runs
// there, in the same pod. A pod whose image has no tar says so.
func TestLiveUpdatePods(t *testing.T) {
	c := needCluster(t, true)
	ns, admin := testNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	withTar := "ferry.local/k8stest-live:" + randomHex(t)
	if err := c.ImportImage(imageFile(t, withTar, scratchImageAt(t, liveTarSrc, "app", "bin/tar"))); err != nil {
		t.Fatal(err)
	}
	bare := "ferry.local/k8stest-bare:" + randomHex(t)
	if err := c.ImportImage(staticImage(t, bare, webSrc)); err != nil {
		t.Fatal(err)
	}
	waitServiceAccount(t, ctx, admin, ns)
	tg := targetIn(ns, ownerA)
	for name, ref := range map[string]string{"live": withTar, "bare": bare} {
		d := service(name, ref, 1)
		d.Spec.Health = &deploy.HealthCheck{Kind: "tcp", Port: 8080, Interval: time.Second, Timeout: time.Second, Retries: 3}
		if err := tg.Deploy(ctx, d, io.Discard); err != nil {
			t.Fatal(err)
		}
		waitReady(t, ctx, admin, ns, name, 1)
	}

	reps, err := tg.LiveReplicas(ctx, "shop", deploy.LiveImage{Ref: withTar})
	if err != nil || len(reps) != 1 || reps[0].Service() != "live" {
		t.Fatalf("replicas of %s: %v, %v", withTar, reps, err)
	}
	r := reps[0]
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "srv/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "srv/hello.txt", Mode: 0o644, Size: 2})
	tw.Write([]byte("v2"))
	tw.Close()
	if err := r.Extract(ctx, &tarball); err != nil {
		t.Fatal(err)
	}
	if code, err := r.Exec(ctx, []string{"/app", "mark"}, io.Discard, io.Discard); code != 0 || err != nil {
		t.Fatalf("run step: %d, %v", code, err)
	}
	for file, want := range map[string]string{"/srv/hello.txt": "v2", "/srv/mark": "marked"} {
		var out strings.Builder
		if code, err := r.Exec(ctx, []string{"/app", "read", file}, &out, io.Discard); code != 0 || err != nil || out.String() != want {
			t.Errorf("%s in the pod: %q (exit %d, %v), want %q", file, out.String(), code, err, want)
		}
	}
	// The same pod, never restarted: no rollout happened.
	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRule + "=live"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods: %v, %v", pods, err)
	}
	if p := pods.Items[0]; string(p.UID) != r.ID() || "pod "+p.Name != r.Name() || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("pod %s (%s), %d restarts; the live update was to %s (%s)", p.Name, p.UID, p.Status.ContainerStatuses[0].RestartCount, r.Name(), r.ID())
	}
	if err := r.Restart(ctx); !errors.Is(err, deploy.ErrLiveUnsupported) {
		t.Errorf("restart: %v", err)
	}

	reps, err = tg.LiveReplicas(ctx, "shop", deploy.LiveImage{Ref: bare})
	if err != nil || len(reps) != 1 || reps[0].Service() != "bare" {
		t.Fatalf("replicas of %s: %v, %v", bare, reps, err)
	}
	err = reps[0].Extract(ctx, strings.NewReader(""))
	if !errors.Is(err, deploy.ErrNoTar) || !strings.Contains(err.Error(), "no tar program in pod bare-") {
		t.Errorf("extract without tar: %v", err)
	}
}

// Pods run a built image by the digest it was pushed as.
func TestRunsImage(t *testing.T) {
	img := deploy.LiveImage{Ref: "shop/web:abc", RepoDigests: []string{"127.0.0.1:5000/shop/web@sha256:11"}}
	for ref, want := range map[string]bool{
		"shop/web:abc":                      true,
		"127.0.0.1:5000/shop/web@sha256:11": true,
		"127.0.0.1:5000/shop/web@sha256:22": false,
		"127.0.0.1:5000/shop/web:abc":       false,
	} {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: ref}}}}
		if got := runsImage(p, img); got != want {
			t.Errorf("runsImage(%s) = %v, want %v", ref, got, want)
		}
	}
}
