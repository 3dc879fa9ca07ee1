package docker

import (
	"context"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/engine"
)

// Images carries out the CLI's image commands, ferry prune, push and down
// --rmi, on the images that a workspace's image() rules build.
type Images struct {
	// Client is the Engine that holds the images.
	Client *dockerapi.Client
	// Owner is the workspace: the images another workspace built are left
	// alone.
	Owner deploy.Owner
}

// Declared reports whether g has image rules.
func (i Images) Declared(g *engine.Graph) bool { return len(image.Images(g)) > 0 }

// Prune removes the images that g's image rules built for project,
// beyond the newest keep in each repository, and never the image of a
// rule's last successful build, which st records (see image.PruneImages).
func (i Images) Prune(ctx context.Context, project string, g *engine.Graph, st *engine.State, keep int) (image.PruneResult, error) {
	imgs := image.Images(g)
	return image.PruneImages(ctx, i.Client, image.PruneOptions{
		Project: project, Owner: i.Owner, Rules: imgs, Keep: keep, Protect: image.LastBuilt(imgs, st),
	})
}

// PruneAll removes every image that the project's image rules built
// (ferry down --rmi), except those a container uses. It needs no
// ferry.star: the images carry the project's label.
func (i Images) PruneAll(ctx context.Context, project string) (image.PruneResult, error) {
	return image.PruneImages(ctx, i.Client, image.PruneOptions{Project: project, Owner: i.Owner, All: true})
}

// Push builds the image rules names of l (those with push = True when
// none is named) as o says, if they are out of date, then pushes each
// one's last build, its output going to bus as the rule's.
func (i Images) Push(ctx context.Context, l *engine.Loaded, names []string, o engine.RunOptions, bus *engine.Bus) error {
	sel, err := image.SelectPush(l.Graph, names)
	if err != nil {
		return err
	}
	selNames := make([]string, len(sel))
	for i, img := range sel {
		selNames[i] = img.Info().Name
	}
	_, err = l.RunThen(image.DeferPush(ctx), selNames, o, func(st *engine.State) error {
		for _, img := range sel {
			w := bus.RuleOutput(img.Info().Name, "stdout")
			err := img.PushLast(ctx, st, w)
			w.Flush()
			if err != nil {
				return err
			}
		}
		return nil
	})
	return err
}
