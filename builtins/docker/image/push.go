package image

// Pushing images to the registry their repository names.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/distribution/reference"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// A Pusher is a Client that can push images; *dockerapi.Client is one.
type Pusher interface {
	// Push pushes ref to its registry with the credentials auth ("" for
	// none), writes progress lines to out and returns the manifest digest.
	Push(ctx context.Context, ref, auth string, out io.Writer) (string, error)
}

// Pushes reports whether the rule declares push = True.
func (i *Image) Pushes() bool { return i.push }

// Refs returns the references the image built for key is pushed under:
// repo:<short key>, then the extra tags.
func (i *Image) Refs(key engine.Digest) []string {
	return append([]string{i.Ref(key)}, i.tags...)
}

// Images returns the image rules of g, in declaration order.
func Images(g *engine.Graph) []*Image {
	var out []*Image
	for _, n := range g.Names() {
		if img, ok := g.Rule(n).(*Image); ok {
			out = append(out, img)
		}
	}
	return out
}

// SelectPush returns the image rules of g that `ferry push` pushes: those
// named, or, when names is empty, those that declare push = True. It fails
// on a name that is not an image rule, and when there is nothing to push.
func SelectPush(g *engine.Graph, names []string) ([]*Image, error) {
	all := Images(g)
	var allNames []string
	for _, img := range all {
		allNames = append(allNames, img.Info().Name)
	}
	var sel []*Image
	for _, n := range names {
		switch r := g.Rule(n).(type) {
		case *Image:
			sel = append(sel, r)
		case nil:
			msg := fmt.Sprintf("no image rule %q in ferry.star", n)
			if s := engine.Suggest(n, allNames); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(allNames) > 0 {
				msg += "; its image rules are " + strings.Join(allNames, ", ")
			}
			return nil, errors.New(msg)
		default:
			return nil, fmt.Errorf("%q is a %s, not an image rule; ferry push pushes images (%s)", n, r.Info().Kind, strings.Join(allNames, ", "))
		}
	}
	if len(names) > 0 {
		return sel, nil
	}
	for _, img := range all {
		if img.Pushes() {
			sel = append(sel, img)
		}
	}
	if len(sel) == 0 {
		if len(all) == 0 {
			return nil, errors.New("ferry.star declares no image rule: nothing to push")
		}
		return nil, fmt.Errorf("no image rule has push = True; name the images to push (`ferry push %s`), or set push = True on them", all[0].Info().Name)
	}
	return sel, nil
}

// PushLast pushes the image of the rule's last successful build, as st
// records it (see Push).
func (i *Image) PushLast(ctx context.Context, st *engine.State, out io.Writer) error {
	rs := st.Rule(i.info.Name)
	if rs == nil {
		return fmt.Errorf("image %s has no successful build to push", i.info.Name)
	}
	return i.Push(ctx, rs.Key, out)
}

type deferPushKey struct{}

// DeferPush returns a context under which image rules that build do not
// push (ferry push pushes every image itself once they are built).
func DeferPush(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferPushKey{}, true)
}

// pushIfAsked pushes the image built for key when the rule says push =
// True, unless the run defers pushing.
func (i *Image) pushIfAsked(rc *engine.RunContext, key engine.Digest) error {
	if !i.push || rc.Value(deferPushKey{}) != nil {
		return nil
	}
	return i.Push(rc, key, rc.Stdout)
}

// Push pushes the image built for key under each of its references, with
// the credentials that `docker login` stored for its registry. Pushing is
// idempotent: layers the registry has are not sent again.
func (i *Image) Push(ctx context.Context, key engine.Digest, out io.Writer) error {
	p, ok := i.docker.(Pusher)
	if !ok {
		return fmt.Errorf("image %q: this Docker Engine client cannot push", i.info.Name)
	}
	for _, ref := range i.Refs(key) {
		auth, err := dockerapi.RegistryAuth(ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "pushing %s\n", ref)
		digest, err := p.Push(ctx, ref, auth, out)
		if err != nil {
			return pushError(ref, auth != "", err)
		}
		fmt.Fprintf(out, "pushed %s (%s)\n", ref, digest)
	}
	return nil
}

// pushError says what to do about a failed push; withAuth says that
// ferry found credentials for the registry.
func pushError(ref string, withAuth bool, err error) error {
	var pe *dockerapi.PushError
	if !errors.As(err, &pe) {
		return err
	}
	host := "the registry"
	if named, perr := reference.ParseNormalizedNamed(ref); perr == nil {
		host = reference.Domain(named)
	}
	msg := strings.ToLower(pe.Message)
	switch {
	case pe.Auth:
		fix := fmt.Sprintf("log in with `docker login %s` (ferry reads the credentials it stores, as the Docker CLI does)", host)
		if withAuth {
			fix = fmt.Sprintf("the credentials the Docker config holds for it were refused: log in again with `docker login %s`", host)
		}
		return fmt.Errorf("push %s: %s refused it: %s; %s", ref, host, pe.Message, fix)
	case strings.Contains(msg, "http response to https client"):
		return fmt.Errorf("push %s: %s speaks plain HTTP, and the Docker daemon uses HTTPS for every registry but those on loopback (127.0.0.0/8); add %q to \"insecure-registries\" in /etc/docker/daemon.json and restart the daemon, or serve the registry over HTTPS", ref, host, host)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout"):
		return fmt.Errorf("push %s: the Docker daemon cannot reach the registry %s: %s; is the registry running, and is the repository's host right?", ref, host, pe.Message)
	}
	return fmt.Errorf("push %s: %s", ref, pe.Message)
}
