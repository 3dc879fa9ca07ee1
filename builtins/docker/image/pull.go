package image

// Pulling the images that services and jobs name, for both the local and
// the Swarm target: they run on the same Engine.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// A PullClient is a Client that can pull images; *dockerapi.Client is
// one.
type PullClient interface {
	// ImageRef inspects the local image ref names; ok is false when
	// there is none.
	ImageRef(ctx context.Context, ref string) (img dockerapi.ImageRef, ok bool, err error)
	// Pull pulls ref with the credentials auth, reporting each layer.
	Pull(ctx context.Context, ref, auth string, layer func(dockerapi.LayerProgress)) error
}

// LocalImage says what ref resolves to in the Engine c now, without
// asking a registry (see deploy.ImagePuller).
func LocalImage(ctx context.Context, c PullClient, ref string) (deploy.ResolvedImage, bool, error) {
	img, ok, err := c.ImageRef(ctx, LocalRef(ref))
	if err != nil || !ok {
		return deploy.ResolvedImage{}, false, err
	}
	return resolved(ref, img), true, nil
}

// PullImage makes ref present in the Engine c as policy says
// (deploy.PullMissing, PullAlways or PullNever), pulling it with the
// credentials of the Docker config and reporting progress (which may be
// nil), and says what ref resolved to. Under PullMissing an image the
// Engine has is used as it is, without asking its registry. Both targets
// pull through it, and so can an image build for its base images.
func PullImage(ctx context.Context, c PullClient, ref, policy string, progress func(engine.PullState)) (deploy.ResolvedImage, error) {
	local := LocalRef(ref)
	have, ok, err := c.ImageRef(ctx, local)
	if err != nil {
		return deploy.ResolvedImage{}, err
	}
	switch {
	case ok && policy != deploy.PullAlways:
		return resolved(ref, have), nil
	case !ok && policy == deploy.PullNever:
		return deploy.ResolvedImage{}, missingImage(ref)
	}
	auth, err := dockerapi.RegistryAuth(ref)
	if err != nil {
		return deploy.ResolvedImage{}, err
	}
	tr := &pullTracker{state: engine.PullState{Image: ref}, index: map[string]int{}, report: progress}
	if err := c.Pull(ctx, local, auth, tr.layer); err != nil {
		return deploy.ResolvedImage{}, pullFailure(ref, auth != "", err)
	}
	got, ok, err := c.ImageRef(ctx, local)
	if err != nil {
		return deploy.ResolvedImage{}, err
	}
	if !ok {
		return deploy.ResolvedImage{}, fmt.Errorf("pull %s: the Engine reported success, but has no such image", ref)
	}
	res := resolved(ref, got)
	res.Pulled = got.ID != have.ID
	tr.finish(res.Digest)
	return res, nil
}

// missingImage is the error for an image the Engine lacks under
// pull = "never".
func missingImage(ref string) error {
	return fmt.Errorf("image %s is not in the Docker Engine, and pull = %q: build it with an image() rule, load it (docker load / docker import), or let ferry pull it (pull = %q)", ref, deploy.PullNever, deploy.PullMissing)
}

// Absent is the error for d's image missing from the Engine as a
// container is made from it: it was pulled or built before, and has been
// removed since.
func Absent(d *deploy.Deployment) error {
	if d.Pull == deploy.PullNever {
		return missingImage(d.Image)
	}
	return fmt.Errorf("image %s is not in the Docker Engine: it was removed while ferry up ran; run ferry up again", d.Image)
}

// LocalRef is ref as the Engine finds a pinned image: "name@sha256:…"
// for "name:tag@sha256:…", since the tag of a pinned reference is only a
// note for people.
func LocalRef(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	if c, ok := named.(reference.Canonical); ok {
		if _, tagged := named.(reference.Tagged); tagged {
			if r, err := reference.WithDigest(reference.TrimNamed(named), c.Digest()); err == nil {
				return reference.FamiliarString(r)
			}
		}
	}
	return ref
}

// resolved says what ref resolved to: the image's ID, and the digest of
// the manifest of ref's repository it was pulled as.
func resolved(ref string, img dockerapi.ImageRef) deploy.ResolvedImage {
	res := deploy.ResolvedImage{ID: img.ID}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return res
	}
	for _, d := range img.RepoDigests {
		if n, err := reference.ParseNormalizedNamed(d); err == nil && n.Name() == named.Name() {
			res.Digest = d
			break
		}
	}
	return res
}

// ResolveLocal returns d with the digest of the image the Engine holds
// for it (see deploy.Deployment.Resolved), without asking a registry;
// why, when not "", says that a pull is due first.
func ResolveLocal(ctx context.Context, c PullClient, d *deploy.Deployment) (_ *deploy.Deployment, why string, err error) {
	if d.Pull == "" {
		return d, "", nil
	}
	img, ok, err := c.ImageRef(ctx, LocalRef(d.Image))
	switch {
	case err != nil:
		return nil, "", err
	case !ok && d.Pull == deploy.PullNever:
		return nil, "", missingImage(d.Image)
	case !ok:
		return nil, fmt.Sprintf("image %s is not in the Engine: ferry up pulls it", d.Image), nil
	case d.Pull == deploy.PullAlways:
		return nil, fmt.Sprintf("pull = %q: ferry up asks the registry for a newer %s", deploy.PullAlways, d.Image), nil
	}
	return d.Resolved(resolved(d.Image, img)), "", nil
}

// pullFailure says what went wrong with a pull of ref, and what to do.
func pullFailure(ref string, withAuth bool, err error) error {
	var pe *dockerapi.PullError
	if !errors.As(err, &pe) {
		return err
	}
	host, herr := dockerapi.RegistryHost(ref)
	if herr != nil {
		host = "the registry"
	}
	msg := strings.ToLower(pe.Message)
	switch {
	case pe.NoSpace:
		return fmt.Errorf("pull %s: the Docker Engine ran out of disk space while it pulled the image: %s; "+
			"nothing was tagged, so nothing half-pulled runs: free space where the Engine keeps its data (`docker system df` shows what takes it; `docker image prune` and `docker builder prune` remove what nothing uses), then run ferry again, which keeps the layers already in",
			ref, pe.Message)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "eof"):
		return fmt.Errorf("pull %s: the Docker daemon cannot reach the registry %s: %s; is the registry running, and is the image's host right?", ref, host, pe.Message)
	case strings.Contains(msg, "http response to https client"):
		return fmt.Errorf("pull %s: %s speaks plain HTTP, and the Docker daemon uses HTTPS for every registry but those on loopback (127.0.0.0/8); add %q to \"insecure-registries\" in /etc/docker/daemon.json and restart the daemon, or serve the registry over HTTPS", ref, host, host)
	case pe.Auth && withAuth:
		return fmt.Errorf("pull %s: %s refused the credentials ferry found for it in the Docker config: %s; log in again with `docker login %s`", ref, host, pe.Message, host)
	case pe.Auth:
		return fmt.Errorf("pull %s: %s wants credentials, and the Docker config has none for it: %s; log in with `docker login %s` (ferry reads what it stores), or check the image's name", ref, host, pe.Message, host)
	case pe.NotFound:
		return fmt.Errorf("pull %s: %s has no such image (%s); check the repository and the tag or digest, or push the image there first", ref, host, pe.Message)
	}
	return fmt.Errorf("pull %s: %s", ref, pe.Message)
}

// A pullTracker gathers the layers' reports of one pull into a
// PullState, and reports it when something worth showing changed: a
// layer is new or finished, or the bytes passed another tenth.
type pullTracker struct {
	state  engine.PullState
	index  map[string]int
	report func(engine.PullState)
	tenth  int64 // the last tenth of the bytes reported
}

func (t *pullTracker) layer(p dockerapi.LayerProgress) {
	i, ok := t.index[p.ID]
	if !ok {
		i = len(t.state.Layers)
		t.index[p.ID] = i
		t.state.Layers = append(t.state.Layers, engine.PullLayer{ID: p.ID})
	}
	l := &t.state.Layers[i]
	was := l.Status
	l.Status = p.Status
	switch p.Status {
	case "Downloading":
		if l.Total == 0 && p.Total > 0 {
			l.Total = p.Total
			t.state.Bytes.Total += p.Total
		}
		t.state.Bytes.Current += p.Current - l.Current
		l.Current = p.Current
	case "Download complete", "Extracting", "Pull complete":
		t.state.Bytes.Current += l.Total - l.Current
		l.Current = l.Total
	}
	show := !ok || (was != p.Status && (p.Status == "Pull complete" || p.Status == "Already exists" || p.Status == "Download complete"))
	if t.state.Bytes.Total > 0 {
		if tenth := t.state.Bytes.Current * 10 / t.state.Bytes.Total; tenth != t.tenth {
			t.tenth, show = tenth, true
		}
	}
	if show {
		t.emit()
	}
}

// finish reports the pull done, resolved to digest.
func (t *pullTracker) finish(digest string) {
	t.state.Done, t.state.Digest = true, digest
	t.emit()
}

func (t *pullTracker) emit() {
	if t.report == nil {
		return
	}
	s := t.state
	s.Layers = slices.Clone(s.Layers)
	t.report(s)
}
