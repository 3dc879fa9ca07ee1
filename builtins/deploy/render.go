package deploy

import (
	"fmt"

	"github.com/ferryhq/ferry/engine"
)

// A Renderer is a Target that can write the objects it would create as
// manifests, for review or for a GitOps tool to apply (`ferry render`).
type Renderer interface {
	// Render returns the manifests of ds by file name (a relative,
	// slash-separated path), each sorted and stable: the same
	// deployments render the same bytes. A secret's value is never
	// rendered.
	Render(ds []*Deployment) (map[string][]byte, error)
}

// Render returns the manifests of the services and jobs of g that its
// profiles enable, named by keys (see engine.Loaded.Keys), when the target
// is a Renderer. A service whose image an image() rule builds names the
// image that rule's key tags.
func (d *Deployer) Render(g *engine.Graph, keys map[string]engine.Digest) (map[string][]byte, error) {
	r, ok := d.Target.(Renderer)
	if !ok {
		if d.Env == "" {
			return nil, fmt.Errorf("ferry render writes the manifests of a Kubernetes environment; select one with --env NAME (or FERRY_ENV)")
		}
		return nil, fmt.Errorf("ferry render writes the manifests of a Kubernetes environment; environment %s's target has none", d.Env)
	}
	return r.Render(d.declared(g, keys))
}

// declared returns the Deployment of each service and job of g that its
// profiles enable, as their keys (see engine.Loaded.Keys) make them, with
// the image an image() rule's key tags.
func (d *Deployer) declared(g *engine.Graph, keys map[string]engine.Digest) []*Deployment {
	var ds []*Deployment
	for _, n := range g.Names() {
		dr, ok := g.Rule(n).(*Rule)
		if !ok || !g.ProfileEnabled(dr.Info()) {
			continue
		}
		dep := dr.deployment(nil, keys[n], d.Root)
		if dr.image != nil {
			dep.Image = dr.image.Ref(keys[dr.image.Info().Name])
		}
		ds = append(ds, dep)
	}
	return ds
}
