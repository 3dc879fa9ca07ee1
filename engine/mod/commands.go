package mod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// SplitVersion splits the argument of `ferry mod add`, REPOSITORY@VERSION; an ssh address (git@host:path)
// keeps its user.
func SplitVersion(s string) (repo, version string) {
	i := strings.LastIndex(s, "@")
	if i <= 0 || strings.ContainsAny(s[i:], "/:") {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// Add adds the module at repo, loaded as @alias, to the ferry.mod in dir
// (creating it), at version, or at the repository's newest semver tag when
// version is "", and pins it in ferry.lock. An existing dep of that alias
// moves to the version. ferry.mod is left as it was when resolving fails.
// It returns the version added.
func Add(ctx context.Context, dir, alias, repo, version string, o Options) (string, error) {
	if msg := CheckRepo(repo); msg != "" {
		return "", errors.New(msg)
	}
	if version == "" {
		tags, err := remoteTags(ctx, repo)
		if err != nil {
			return "", fmt.Errorf("cannot list the tags of %s: %v", repo, err)
		}
		known := semverTags(tags)
		if len(known) == 0 {
			return "", fmt.Errorf("%s has no semver tag (v1.2.3); give a version: ferry mod add %s %s@COMMIT", repo, alias, repo)
		}
		version = known[0]
	}
	if msg := checkVersion(version); msg != "" {
		return "", errors.New(msg)
	}
	path := filepath.Join(dir, ModFileName)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	mf, err := ParseModFile(ModFileName, old)
	if err != nil {
		return "", err
	}
	if d := mf.Dep(alias); d != nil && repo != d.Repo {
		return "", fmt.Errorf("%s: @%s is already %s; remove that dep() or choose another alias", d.Pos, alias, d.Repo)
	}
	if err := writeAtomic(path, mf.SetVersion(alias, repo, version)); err != nil {
		return "", err
	}
	o.Locked = false
	if _, err := Resolve(ctx, dir, o); err != nil {
		writeAtomic(path, old)
		return "", err
	}
	return version, nil
}

// Tidy resolves the modules of ferry.mod again and rewrites ferry.lock:
// pins for modules no longer required are dropped, missing ones added.
func Tidy(ctx context.Context, dir string, o Options) (*Graph, error) {
	o.Locked = false
	return Resolve(ctx, dir, o)
}

// A Bump is one dep moved to a newer version by Update.
type Bump struct {
	Alias, From, To string
}

// Update moves the deps of ferry.mod named by aliases (all when none) to
// the newest semver tag of the same major version, and pins them. Deps
// pinned to a commit, and overrides, are left as they are.
func Update(ctx context.Context, dir string, aliases []string, o Options) ([]Bump, error) {
	path := filepath.Join(dir, ModFileName)
	mf, err := ReadModFile(path, ModFileName)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		if mf.Dep(a) == nil {
			return nil, fmt.Errorf("ferry.mod has no dep %q", a)
		}
	}
	var ups []Bump
	o.Upgrade = map[string]bool{}
	for _, d := range mf.Deps {
		if len(aliases) > 0 && !slices.Contains(aliases, d.Alias) || IsCommit(d.Version) || mf.Overrides[d.Alias] != nil {
			continue
		}
		o.Upgrade[d.Alias] = true
		tags, err := remoteTags(ctx, d.Repo)
		if err != nil {
			return nil, fmt.Errorf("%s: dep %q: cannot list the tags of %s: %v", d.Pos, d.Alias, d.Repo, err)
		}
		for _, v := range semverTags(tags) {
			if major(v) == major(d.Version) && semver.Prerelease(v) == "" {
				if semver.Compare(v, d.Version) > 0 {
					ups = append(ups, Bump{Alias: d.Alias, From: d.Version, To: v})
					mf, err = ParseModFile(ModFileName, mf.SetVersion(d.Alias, d.Repo, v))
					if err != nil {
						return nil, err
					}
				}
				break
			}
		}
	}
	old, _ := os.ReadFile(path)
	if err := writeAtomic(path, mf.src); err != nil {
		return nil, err
	}
	o.Locked = false
	if _, err := Resolve(ctx, dir, o); err != nil {
		writeAtomic(path, old)
		return nil, err
	}
	return ups, nil
}

// VendorDir is the workspace folder that ferry mod vendor fills.
const VendorDir = "ferry_modules"

// Vendor copies the files of every pinned module into ferry_modules/<alias>
// in dir. Loads then read them from there (still verified against
// ferry.lock), without the cache or the network.
func Vendor(ctx context.Context, dir string, o Options) (*Graph, error) {
	vendor := filepath.Join(dir, VendorDir)
	if err := os.RemoveAll(vendor); err != nil {
		return nil, err
	}
	g, err := Resolve(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	for _, a := range slices.Sorted(maps.Keys(g.Nodes)) {
		n := g.Nodes[a]
		if n.Override != nil {
			continue
		}
		if err := copyTree(n.Dir, filepath.Join(vendor, a)); err != nil {
			return nil, fmt.Errorf("vendor @%s: %w", a, err)
		}
	}
	return g, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
}

// WriteGraph writes the module graph as "module requirement" lines, one
// per edge, the workspace first: the format of `go mod graph`.
func (g *Graph) WriteGraph(w io.Writer) error {
	name := func(a string) string {
		if a == "" {
			if g.Root != nil && g.Root.Name != "" {
				return g.Root.Name
			}
			return "workspace"
		}
		n := g.Nodes[a]
		return "@" + a + " " + n.Version
	}
	var b strings.Builder
	for _, from := range slices.Sorted(maps.Keys(g.Edges)) {
		if from != "" && g.Nodes[from] == nil {
			continue
		}
		for _, to := range g.Edges[from] {
			fmt.Fprintf(&b, "%s → %s\n", name(from), name(to))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
