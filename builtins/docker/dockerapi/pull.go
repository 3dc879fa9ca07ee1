package dockerapi

// Pulling images from their registries.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
)

// A PullError is a pull that the Engine or the registry refused.
type PullError struct {
	Ref     string
	Message string // the Engine's message, one line
	// Auth says that the registry asked for credentials, or refused
	// the ones given.
	Auth bool
	// NotFound says that the registry has no such repository, tag or
	// digest (a registry that hides private repositories says so for
	// those too).
	NotFound bool
	// NoSpace says that the Engine ran out of disk space (or of inodes, or
	// of its quota) while it downloaded or unpacked a layer.
	NoSpace bool
}

func (e *PullError) Error() string { return fmt.Sprintf("pull %s: %s", e.Ref, e.Message) }

// pullError classifies the Engine's message about a failed pull of ref.
func pullError(ref, msg string) *PullError {
	msg = strings.TrimPrefix(msg, "Error response from daemon: ")
	l := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(l, w) {
				return true
			}
		}
		return false
	}
	return &PullError{
		Ref: ref, Message: oneLine(msg),
		Auth:     has("unauthorized", "authentication required", "no basic auth credentials", "denied", "may require 'docker login'"),
		NotFound: has("manifest unknown", "not found", "repository does not exist", "name unknown"),
		// ENOSPC and EDQUOT, as the Engine words them: "write
		// /var/lib/docker/tmp/GetImageBlob…: no space left on device"
		// while downloading, "failed to register layer: …: no space left
		// on device" while unpacking (containerd's image store: "failed
		// to extract layer …").
		NoSpace: has("no space left on device", "disk quota exceeded"),
	}
}

// A LayerProgress is where one layer of a pull stands, as the Engine
// reports it: Status is "Waiting", "Downloading", "Verifying Checksum",
// "Download complete", "Extracting", "Pull complete" or "Already exists";
// Current and Total count bytes while downloading or extracting.
type LayerProgress struct {
	ID             string
	Status         string
	Current, Total int64
}

// Pull pulls ref ("host/repo:tag" or "host/repo@sha256:…") from its
// registry with the credentials auth (an X-Registry-Auth value from
// RegistryAuth; "" for none), calling layer with each report about a
// layer, in order. A refusal is a *PullError. When ctx ends, the Engine
// stops the pull: the image is tagged only once every layer is in, and
// the layers it has are kept for the next pull.
func (c *Client) Pull(ctx context.Context, ref, auth string, layer func(LayerProgress)) error {
	cli, k, err := c.begin(ctx, "ImagePull", slowCall)
	if err != nil {
		return err
	}
	defer k.done(nil)
	if auth == "" {
		auth, _ = registry.EncodeAuthConfig(registry.AuthConfig{})
	}
	rc, err := cli.ImagePull(k.ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err = k.answered(err); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cerrdefs.IsNotFound(err) || cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) || cerrdefs.IsInternal(err) || cerrdefs.IsUnknown(err) {
			return pullError(ref, err.Error())
		}
		return c.wrap("pull "+ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read the pull's output: %w", err)
		}
		msg := m.ErrorMessage
		if m.Error != nil && m.Error.Message != "" {
			msg = m.Error.Message
		}
		if msg != "" {
			return pullError(ref, msg)
		}
		// Lines without a layer ("Pulling from …", "Digest: …",
		// "Status: …") say nothing the caller does not learn otherwise.
		if m.ID == "" || strings.HasPrefix(m.Status, "Pulling from") || layer == nil {
			continue
		}
		p := LayerProgress{ID: m.ID, Status: m.Status}
		if m.Progress != nil {
			p.Current, p.Total = m.Progress.Current, m.Progress.Total
		}
		layer(p)
	}
}

// An ImageRef is what the Engine knows of a local image.
type ImageRef struct {
	ID string
	// RepoDigests are the repo@sha256:… references of the manifests the
	// image was pulled as (or pushed as); none for an image built here.
	RepoDigests []string
}

// ImageRef inspects the local image that ref names; ok is false when
// there is none. It never pulls.
func (c *Client) ImageRef(ctx context.Context, ref string) (r ImageRef, ok bool, err error) {
	cli, k, err := c.begin(ctx, "ImageInspect", quickCall)
	if err != nil {
		return ImageRef{}, false, err
	}
	res, err := cli.ImageInspect(k.ctx, ref)
	err = k.done(err)
	switch {
	case cerrdefs.IsNotFound(err):
		return ImageRef{}, false, nil
	case err != nil:
		return ImageRef{}, false, c.wrap("inspect image "+ref, err)
	}
	return ImageRef{ID: res.ID, RepoDigests: res.RepoDigests}, true, nil
}
