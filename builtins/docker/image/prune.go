package image

// ferry prune and down --rmi: removing the images that image rules built.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// LastBuilt returns the references of the images of imgs that st records
// as their rules' last successful builds: those that pruning protects.
func LastBuilt(imgs []*Image, st *engine.State) []string {
	var refs []string
	for _, img := range imgs {
		if rs := st.Rule(img.info.Name); rs != nil {
			refs = append(refs, img.Ref(rs.Key))
		}
	}
	return refs
}

// PruneOptions select the images that PruneImages removes. Only images
// ferry built are considered: those labelled with Project and a ferry.key,
// tagged with that key in a repository (repo:<short key>).
type PruneOptions struct {
	// Project is the images' ferry.project label, the project's name.
	Project string
	// Owner is the workspace: the images another workspace built (see
	// deploy.Owner) are left alone.
	Owner deploy.Owner
	// Rules are the image rules whose images are pruned, in their own
	// repositories.
	Rules []*Image
	// All considers every image ferry built in the project instead, whatever
	// its rule or repository (ferry down --rmi), with all its tags in the
	// repository of its key tag.
	All bool
	// Keep is how many of the newest images to keep in each repository.
	Keep int
	// Protect lists references that are never removed, such as the image
	// of each rule's last successful key.
	Protect []string
}

// PruneResult says what PruneImages did.
type PruneResult struct {
	Removed []string // images removed, by their key tag
	Kept    []string // old images kept, each with the reason
}

// Log logs each image removed and kept with logf (engine.Bus.Logf), or
// none when there was no image to remove or keep.
func (r PruneResult) Log(logf func(level, format string, args ...any), none string) {
	for _, img := range r.Removed {
		logf(engine.LevelInfo, "removed image %s", img)
	}
	for _, img := range r.Kept {
		logf(engine.LevelInfo, "kept image %s", img)
	}
	if len(r.Removed)+len(r.Kept) == 0 {
		logf(engine.LevelInfo, "%s", none)
	}
}

// ferryImage is an image ferry built, found in a repository.
type ferryImage struct {
	img     dockerapi.Image
	repo    string
	keyTag  string   // repo:<short key>
	untag   []string // the tags to remove with it
	created time.Time
}

// PruneImages removes the images ferry built for the selected rules (or the
// whole project) beyond the newest o.Keep in each repository, newest
// first. It never removes an image that a container uses (running or not),
// one listed in o.Protect, or one ferry did not build; an image that keeps
// a tag it was not given by ferry stays, with that tag.
func PruneImages(ctx context.Context, c *dockerapi.Client, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	if o.Keep < 0 {
		return res, fmt.Errorf("keep must be 0 or more, not %d", o.Keep)
	}
	imgs, err := c.ImagesByLabel(ctx, objects.LabelProject, o.Project)
	if err != nil {
		return res, err
	}
	rules := map[string]*Image{} // repo → rule
	for _, r := range o.Rules {
		rules[r.repo] = r
	}
	groups := map[string][]*ferryImage{}
	for _, img := range imgs {
		key := img.Labels[LabelKey]
		if len(key) < 12 || objects.IsForeign(o.Owner, img.Labels) {
			continue
		}
		// An image built FROM a ferry image inherits its labels, not its
		// key tag: the tag is what marks an image that ferry built.
		var fi *ferryImage
		for _, tag := range img.Tags {
			if repo, ok := strings.CutSuffix(tag, ":"+key[:12]); ok {
				fi = &ferryImage{img: img, repo: repo, keyTag: tag}
				break
			}
		}
		if fi == nil {
			continue
		}
		fi.untag = []string{fi.keyTag}
		if !o.All {
			r := rules[fi.repo]
			if r == nil || img.Labels[objects.LabelRule] != r.info.Name {
				continue
			}
			for _, t := range r.tags {
				if slices.Contains(img.Tags, t) {
					fi.untag = append(fi.untag, t)
				}
			}
		} else {
			for _, t := range img.Tags {
				if t != fi.keyTag && strings.HasPrefix(t, fi.repo+":") {
					fi.untag = append(fi.untag, t)
				}
			}
		}
		groups[fi.repo] = append(groups[fi.repo], fi)
	}
	var old []*ferryImage
	for _, g := range groups {
		if len(g) <= o.Keep {
			continue
		}
		for _, fi := range g {
			if fi.created, err = c.ImageCreated(ctx, fi.img.ID); err != nil {
				return res, err
			}
		}
		sort.Slice(g, func(i, j int) bool {
			if !g[i].created.Equal(g[j].created) {
				return g[i].created.After(g[j].created)
			}
			return g[i].img.ID < g[j].img.ID
		})
		old = append(old, g[o.Keep:]...)
	}
	if len(old) == 0 {
		return res, nil
	}
	users, err := c.ImageUsers(ctx)
	if err != nil {
		return res, err
	}
	// Newest first: an image built on another goes before it.
	sort.Slice(old, func(i, j int) bool { return old[i].created.After(old[j].created) })
	for _, fi := range old {
		if protected(fi, o.Protect) {
			res.Kept = append(res.Kept, fmt.Sprintf("%s: its rule's last successful build made it", fi.keyTag))
			continue
		}
		if u := users[fi.img.ID]; len(u) == 1 {
			res.Kept = append(res.Kept, fmt.Sprintf("%s: container %s uses it", fi.keyTag, u[0]))
			continue
		} else if len(u) > 1 {
			sort.Strings(u)
			res.Kept = append(res.Kept, fmt.Sprintf("%s: containers %s use it", fi.keyTag, strings.Join(u, ", ")))
			continue
		}
		deleted, kept := false, false
		for _, tag := range fi.untag {
			d, err := c.Untag(ctx, tag)
			if errors.Is(err, dockerapi.ErrImageInUse) {
				res.Kept = append(res.Kept, fmt.Sprintf("%s: the Engine keeps it: %v", fi.keyTag, err))
				kept = true
				break
			} else if err != nil {
				return res, err
			}
			deleted = deleted || d
		}
		if kept {
			continue
		}
		var others []string
		for _, t := range fi.img.Tags {
			if !slices.Contains(fi.untag, t) {
				others = append(others, t)
			}
		}
		switch {
		case deleted:
			res.Removed = append(res.Removed, fi.keyTag)
		case len(others) > 0:
			res.Removed = append(res.Removed, fmt.Sprintf("%s (untagged; the image stays as %s, a tag ferry did not give it)", fi.keyTag, strings.Join(others, ", ")))
		default:
			res.Removed = append(res.Removed, fi.keyTag+" (untagged; the Engine keeps its layers while an image built on it exists)")
		}
	}
	return res, nil
}

func protected(fi *ferryImage, refs []string) bool {
	for _, p := range refs {
		if slices.Contains(fi.img.Tags, p) {
			return true
		}
	}
	return false
}
