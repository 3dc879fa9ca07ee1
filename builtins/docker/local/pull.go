package local

import (
	"context"
	"fmt"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

var _ deploy.ImagePuller = (*Target)(nil)

// PullImage makes ref present in the Engine as policy says (see
// deploy.ImagePuller).
func (t *Target) PullImage(ctx context.Context, ref, policy string, progress func(engine.PullState)) (deploy.ResolvedImage, error) {
	return image.PullImage(ctx, t.c, ref, policy, progress)
}

// LocalImage says what ref resolves to in the Engine now, without asking
// a registry (see deploy.ImagePuller).
func (t *Target) LocalImage(ctx context.Context, ref string) (deploy.ResolvedImage, bool, error) {
	return image.LocalImage(ctx, t.c, ref)
}

// imageChanged says how the image of d differs from the one that a
// container of list runs, when it does: "" when they run the same digest,
// or none is known.
func imageChanged(d *deploy.Deployment, list []dockerapi.Container) string {
	for _, c := range list {
		if old := c.Labels[objects.LabelDigest]; old != "" && d.Digest != "" && old != d.Digest {
			return fmt.Sprintf("its image changed: %s runs %s, and %s is now %s", c.Name, old, d.Image, d.Digest)
		}
	}
	return ""
}
