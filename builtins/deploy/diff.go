package deploy

import (
	"context"
	"fmt"
	"io"

	"github.com/ferryhq/ferry/engine"
)

// A Differ is a Target that can say, object by object, what `ferry up`
// would change in it, without changing anything (`ferry diff`).
type Differ interface {
	// Diff writes to out what applying ds would change, and what
	// pruning would remove of project's objects, and returns how many
	// objects would change. Secret values are never written.
	Diff(ctx context.Context, project string, ds []*Deployment, out io.Writer) (int, error)
}

// Diff writes what `ferry up` would change in the environment for the
// services and jobs of g that its profiles enable, named by keys, when
// the target is a Differ; it returns how many objects would change.
func (d *Deployer) Diff(ctx context.Context, g *engine.Graph, keys map[string]engine.Digest, out io.Writer) (int, error) {
	df, ok := d.Target.(Differ)
	if !ok {
		if d.Env == "" {
			return 0, fmt.Errorf("ferry diff compares ferry.star with a Kubernetes environment; select one with --env NAME (or FERRY_ENV)")
		}
		return 0, fmt.Errorf("ferry diff compares ferry.star with a Kubernetes environment; environment %s's target cannot say what would change", d.Env)
	}
	return df.Diff(ctx, d.Project, d.declared(g, keys), out)
}
