package swarm

import (
	"context"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/engine"
)

var _ deploy.ImagePuller = (*Target)(nil)

// PullImage makes ref present in the Engine as policy says (see
// deploy.ImagePuller). The Swarm's node is this Engine: its tasks find
// the image there.
func (t *Target) PullImage(ctx context.Context, ref, policy string, progress func(engine.PullState)) (deploy.ResolvedImage, error) {
	return image.PullImage(ctx, t.c, ref, policy, progress)
}

// LocalImage says what ref resolves to in the Engine now, without asking
// a registry (see deploy.ImagePuller).
func (t *Target) LocalImage(ctx context.Context, ref string) (deploy.ResolvedImage, bool, error) {
	return image.LocalImage(ctx, t.c, ref)
}
