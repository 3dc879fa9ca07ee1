package mod

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/semver"

	"github.com/ferryhq/ferry/engine"
)

// Options configure Resolve and Load.
type Options struct {
	Cache *Cache // nil: DefaultCache
	// Locked refuses to fetch anything ferry.lock does not pin, and to
	// change ferry.lock (--locked; the default under `ferry ci` and when
	// CI is set). Pinned modules missing from the cache are still fetched.
	Locked bool
	// Log reports progress, such as a fetch; nil is silent.
	Log func(format string, args ...any)
	// Upgrade lists aliases whose pin in ferry.lock is not preferred: they
	// resolve again from their requirements (ferry mod update).
	Upgrade map[string]bool
}

// A Graph is a workspace's resolved module graph: one version of each
// module.
type Graph struct {
	Root    *ModFile // nil when the workspace has no ferry.mod
	RootDir string
	Nodes   map[string]*Node // the selected modules, by alias
	Lock    *Lock            // ferry.lock as the graph pins it
	OldLock *Lock            // ferry.lock as it was read
	// Edges lists, for each module ("" for the workspace), the aliases its
	// ferry.mod requires, at the versions selected.
	Edges map[string][]string
}

// A Node is one module of the graph.
type Node struct {
	Alias    string
	Repo     string
	Version  string // the version selected
	Commit   string // "" for an override
	Hash     string // hash of its file tree
	Dir      string // its files: in the cache, a vendored copy, or an override
	Override *Override
	Mod      *ModFile // its own ferry.mod, nil when it has none
}

// A require is one dep() of a ferry.mod with the chain of modules that
// led to it, for explaining conflicts.
type require struct {
	dep   *Dep
	by    string   // the module whose ferry.mod it is: "the workspace", "@tools v1.0.0"
	chain []string // the requirements that led to by, outermost first
}

func (r *require) step() string {
	return fmt.Sprintf("%s requires @%s %s (%s)", r.by, r.dep.Alias, r.dep.Version, r.dep.Pos)
}

func (r *require) explain() string {
	return strings.Join(append(slices.Clone(r.chain), r.step()), " → ")
}

type resolver struct {
	ctx   context.Context
	o     Options
	g     *Graph
	mu    sync.Mutex
	nodes map[string]*Node      // alias@version → fetched node
	reqs  map[string][]*require // alias → every requirement seen
}

// ErrMismatch is wrapped by the errors of a module whose files differ from
// the hash ferry.lock pins.
var ErrMismatch = errors.New("module hash mismatch")

// Resolve reads the ferry.mod and ferry.lock in dir, brings every module
// into the cache (or finds it there), verifies each against ferry.lock,
// and selects one version of each: the highest version required
// (minimal version selection), keeping the version ferry.lock pins when
// it satisfies every requirement. It writes ferry.lock when the pins
// change, unless o.Locked, which refuses.
func Resolve(ctx context.Context, dir string, o Options) (*Graph, error) {
	if o.Cache == nil {
		c, err := DefaultCache()
		if err != nil {
			return nil, err
		}
		o.Cache = c
	}
	g := &Graph{RootDir: dir, Nodes: map[string]*Node{}, Edges: map[string][]string{}}
	root, err := ReadModFile(filepath.Join(dir, ModFileName), ModFileName)
	if errors.Is(err, os.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return nil, err
	}
	g.Root = root
	if err := o.Cache.check(); err != nil {
		return nil, err
	}
	if g.OldLock, err = ReadLock(filepath.Join(dir, LockFileName), LockFileName); err != nil {
		return nil, err
	}
	r := &resolver{ctx: ctx, o: o, g: g, nodes: map[string]*Node{}, reqs: map[string][]*require{}}
	if err := r.walk(root, "the workspace", nil); err != nil {
		return nil, err
	}
	if err := r.selectVersions(); err != nil {
		return nil, err
	}
	if err := r.checkGrants(); err != nil {
		return nil, err
	}
	if err := r.lock(); err != nil {
		return nil, err
	}
	return g, nil
}

// walk visits the requirements of mf (reached through chain), fetching
// each required module, in parallel.
func (r *resolver) walk(mf *ModFile, by string, chain []string) error {
	errs := make([]error, len(mf.Deps))
	var wg sync.WaitGroup
	for i, d := range mf.Deps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.visit(&require{dep: d, by: by, chain: chain})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *resolver) visit(req *require) error {
	d := req.dep
	if req.by != "the workspace" && IsLocalRepo(d.Repo) {
		return fmt.Errorf("%s: dep %q: %s is a local repository, and only the workspace's ferry.mod may name one: a module names the repositories it uses by a network address (https://, ssh://, git@host:path)\n  (%s)", d.Pos, d.Alias, d.Repo, req.explain())
	}
	r.mu.Lock()
	for _, prev := range r.reqs[d.Alias] {
		if prev.dep.Repo != d.Repo {
			r.mu.Unlock()
			return fmt.Errorf("@%s names two repositories:\n  %s: %s\n  %s: %s\nan alias names one repository across every ferry.mod of the graph; rename one of them", d.Alias, prev.explain(), prev.dep.Repo, req.explain(), d.Repo)
		}
	}
	for alias, list := range r.reqs {
		if alias != d.Alias && list[0].dep.Repo == d.Repo {
			r.mu.Unlock()
			return fmt.Errorf("repository %s is required under two aliases:\n  %s\n  %s\nuse one alias for it in every ferry.mod", d.Repo, list[0].explain(), req.explain())
		}
	}
	r.reqs[d.Alias] = append(r.reqs[d.Alias], req)
	version := r.preferred(d)
	key := d.Alias + "@" + version
	if _, seen := r.nodes[key]; seen {
		r.mu.Unlock()
		return nil
	}
	r.nodes[key] = nil // claimed: fetched below
	r.mu.Unlock()

	n, err := r.fetch(req, version)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.nodes[key] = n
	r.mu.Unlock()
	if n.Mod == nil {
		return nil
	}
	return r.walk(n.Mod, "@"+d.Alias+" "+version, append(slices.Clone(req.chain), req.step()))
}

// preferred returns the version of d to visit: the version ferry.lock
// pins when it satisfies d, else d's own. Called with mu held.
func (r *resolver) preferred(d *Dep) string {
	if o := r.g.Root.Overrides[d.Alias]; o != nil {
		return "override"
	}
	l := r.g.OldLock.Modules[d.Alias]
	if l == nil || l.Repo != d.Repo || r.o.Upgrade[d.Alias] {
		return d.Version
	}
	switch {
	case l.Version == d.Version:
		return l.Version
	case IsCommit(l.Version) || IsCommit(d.Version):
		return d.Version
	case major(l.Version) == major(d.Version) && semver.Compare(l.Version, d.Version) > 0:
		return l.Version
	}
	return d.Version
}

func major(v string) string {
	if m := semver.Major(v); m != "v0" {
		return m
	}
	return "v1"
}

// fetch returns the node of d's module at version: an override folder,
// a vendored copy, or a tree of the cache (fetched when missing).
func (r *resolver) fetch(req *require, version string) (*Node, error) {
	d := req.dep
	n := &Node{Alias: d.Alias, Repo: d.Repo, Version: version}
	where := func(err error) error {
		if len(req.chain) > 0 {
			return fmt.Errorf("%s: dep %q: %w\n  (%s)", d.Pos, d.Alias, err, req.explain())
		}
		return fmt.Errorf("%s: dep %q: %w", d.Pos, d.Alias, err)
	}
	if o := r.g.Root.Overrides[d.Alias]; o != nil {
		n.Override, n.Version = o, "override"
		n.Dir = filepath.Join(r.g.RootDir, filepath.FromSlash(o.Path))
		if st, err := os.Stat(n.Dir); err != nil || !st.IsDir() {
			return nil, engine.Errorf(o.Pos, "override %q: folder %s does not exist", d.Alias, n.Dir)
		}
		h, _, err := hashTree(n.Dir)
		if err != nil {
			return nil, engine.Errorf(o.Pos, "override %q: %v", d.Alias, err)
		}
		n.Hash = h
		return n, r.readMod(n)
	}
	pin := r.g.OldLock.Modules[d.Alias]
	if pin != nil && (pin.Repo != d.Repo || pin.Version != version) {
		pin = nil
	}
	if pin != nil {
		n.Commit, n.Hash = pin.Commit, pin.Hash
		if dir := filepath.Join(r.g.RootDir, VendorDir, d.Alias); isDir(dir) {
			n.Dir = dir
			if err := r.verify(n, ""); err != nil {
				return nil, where(err)
			}
			return n, r.readMod(n)
		}
		// The cache's tree is the module's only when the cache took it
		// from the pinned commit of this repository: a lock whose hash
		// names another tree of the cache is checked by fetching.
		// The version must name the pinned commit too: a lock cannot pin
		// a tag to an older commit the cache holds.
		if err := r.o.Cache.checkCommits(d.Repo); err != nil {
			return nil, where(err)
		}
		if dir := r.o.Cache.TreeDir(pin.Hash); isDir(dir) && r.o.Cache.cachedTree(d.Repo, pin.Commit) == pin.Hash && r.pinnedVersion(d.Repo, version, pin.Commit) {
			n.Dir = dir
			if err := checkPrivateTree(dir, "the files of @"+d.Alias); err != nil {
				return nil, where(err)
			}
			if err := r.verify(n, dir+".sum"); err != nil {
				return nil, where(err)
			}
			return n, r.readMod(n)
		}
	} else if r.o.Locked {
		return nil, where(fmt.Errorf("%s %s is not pinned in %s, and --locked (the default in CI) fetches nothing new; run `ferry mod tidy` and commit %s", d.Repo, version, LockFileName, LockFileName))
	}
	if err := r.download(n); err != nil {
		return nil, where(err)
	}
	return n, r.readMod(n)
}

// pinnedVersion reports whether version (a commit, or a tag as the
// cache's mirror of repo holds it) is commit.
func (r *resolver) pinnedVersion(repo, version, commit string) bool {
	if IsCommit(version) {
		return version == commit
	}
	if c := r.o.Cache.taggedCommit(repo, version); c != "" {
		return c == commit
	}
	return r.o.Cache.mirrorTag(r.ctx, repo, version) == commit
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// download brings n's version into the cache, checking it against the
// commit and hash n pins, if any.
func (r *resolver) download(n *Node) error {
	unlock, err := r.o.Cache.lockRepo(r.ctx, n.Repo)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.o.Cache.checkRepo(n.Repo); err != nil {
		return err
	}
	commit := n.Version
	if !IsCommit(n.Version) {
		if commit, err = r.resolveTag(n.Repo, n.Version); err != nil {
			return err
		}
	}
	if r.o.Log != nil && r.o.Cache.cachedTree(n.Repo, commit) == "" {
		r.o.Log("fetching @%s %s from %s", n.Alias, n.Version, n.Repo)
	}
	hash, err := r.o.Cache.fill(r.ctx, n.Repo, n.Version, commit)
	if err != nil {
		return fmt.Errorf("cannot fetch %s from %s: %v; check the address, the network and git's credentials (ferry runs git: its credential helpers, ssh keys and agent apply)", n.Version, n.Repo, err)
	}
	if n.Hash != "" && (hash != n.Hash || commit != n.Commit) {
		file := ""
		if old, err := os.ReadFile(r.o.Cache.TreeDir(n.Hash) + ".sum"); err == nil {
			if now, err := os.ReadFile(r.o.Cache.TreeDir(hash) + ".sum"); err == nil {
				file = differs(string(old), string(now))
			}
		}
		moved := ""
		if commit != n.Commit {
			moved = fmt.Sprintf("; tag %s now points to commit %s, not %s: it was moved (force-pushed)", n.Version, commit, n.Commit)
		}
		return mismatch(n, file, hash, moved)
	}
	n.Commit, n.Hash = commit, hash
	n.Dir = r.o.Cache.TreeDir(hash)
	if err := checkPrivateTree(n.Dir, "the files of @"+n.Alias); err != nil {
		return err
	}
	if !IsCommit(n.Version) {
		r.o.Cache.recordTag(n.Repo, n.Version, commit)
	}
	// A tree the cache already held may have been changed since.
	return r.verify(n, n.Dir+".sum")
}

func mismatch(n *Node, file, got, why string) error {
	f := ""
	if file != "" {
		f = ", file " + file + " differs"
	}
	return fmt.Errorf("%w: @%s %s%s: ferry.lock pins %s, the files have %s%s; if the change is expected, run `ferry mod update %s` (and review it), otherwise the module was tampered with", ErrMismatch, n.Alias, n.Version, f, n.Hash, got, why, n.Alias)
}

// resolveTag fetches tag from repo into the cache's mirror, shallow, and
// returns its commit; when the server cannot be reached, the mirror's
// copy of the tag is used. Called with the repository's lock held.
func (r *resolver) resolveTag(repo, tag string) (string, error) {
	dir, err := r.o.Cache.mirror(r.ctx, repo)
	if err != nil {
		return "", err
	}
	_, ferr := git(r.ctx, dir, "fetch", "-q", "--depth=1", "--no-tags", "--", repo, "+refs/tags/"+tag+":refs/tags/"+tag)
	if err := checkPrivateTree(dir, "a git mirror"); err != nil {
		return "", err
	}
	if c := r.o.Cache.mirrorTag(r.ctx, repo, tag); c != "" {
		return c, nil
	}
	tags, err := remoteTags(r.ctx, repo)
	if err != nil {
		return "", fmt.Errorf("cannot reach %s and the module cache does not have %s: %v; check the address, the network and git's credentials (ferry runs git: its credential helpers, ssh keys and agent apply)", repo, tag, err)
	}
	if _, ok := tags[tag]; ok {
		return "", fmt.Errorf("cannot fetch tag %s from %s: %v", tag, repo, ferr)
	}
	known := semverTags(tags)
	if len(known) > 8 {
		known = known[:8]
	}
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return "", fmt.Errorf("%s has no tag %s (its semver tags, newest first: %s)", repo, tag, list)
}

// verify checks the files of n against the hash it pins; sums, when not
// "", lists what they were when cached, to name the file that differs.
func (r *resolver) verify(n *Node, sums string) error {
	h, now, err := hashTree(n.Dir)
	if err != nil {
		return err
	}
	if h == n.Hash {
		return nil
	}
	file := ""
	if sums != "" {
		if old, err := os.ReadFile(sums); err == nil {
			file = differs(string(old), now)
		}
	}
	return mismatch(n, file, h, " (in "+n.Dir+")")
}

// readMod reads n's own ferry.mod, if it has one.
func (r *resolver) readMod(n *Node) error {
	mf, err := ReadModFile(filepath.Join(n.Dir, ModFileName), "@"+n.Alias+"//"+ModFileName)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	n.Mod = mf
	return nil
}

// selectVersions picks, for each module reached from the workspace, the
// highest version required of it, checks that the requirements agree
// (one major version, one commit), and refuses cycles.
func (r *resolver) selectVersions() error {
	chosen := map[string]*Node{}
	edges := r.g.Edges
	edges[""] = depAliases(r.g.Root)
	state := map[string]int{} // 1: on the path, 2: done
	var visit func(alias string, path []string) error
	visit = func(alias string, path []string) error {
		switch state[alias] {
		case 1:
			cyc := append(slices.Clone(path[slices.Index(path, alias):]), alias)
			return fmt.Errorf("module cycle: %s; a module cannot depend on itself, even through others", cycleText(cyc, chosen))
		case 2:
			return nil
		}
		n, err := r.pick(alias)
		if err != nil {
			return err
		}
		chosen[alias] = n
		state[alias] = 1
		edges[alias] = depAliases(n.Mod)
		for _, d := range edges[alias] {
			if err := visit(d, append(path, alias)); err != nil {
				return err
			}
		}
		state[alias] = 2
		return nil
	}
	for _, a := range edges[""] {
		if err := visit(a, nil); err != nil {
			return err
		}
	}
	r.g.Nodes = chosen
	return nil
}

// depAliases lists the aliases mf requires; none for a nil mf.
func depAliases(mf *ModFile) []string {
	var out []string
	if mf != nil {
		for _, d := range mf.Deps {
			out = append(out, d.Alias)
		}
	}
	return out
}

func cycleText(cyc []string, nodes map[string]*Node) string {
	var parts []string
	for i := 0; i+1 < len(cyc); i++ {
		n := nodes[cyc[i]]
		pos := ""
		if n != nil && n.Mod != nil {
			if d := n.Mod.Dep(cyc[i+1]); d != nil {
				pos = " (" + d.Pos.String() + ")"
			}
		}
		parts = append(parts, fmt.Sprintf("@%s requires @%s%s", cyc[i], cyc[i+1], pos))
	}
	return strings.Join(parts, ", ")
}

// pick selects the version of alias among the requirements seen.
func (r *resolver) pick(alias string) (*Node, error) {
	reqs := r.reqs[alias]
	var best *require
	bestV := ""
	for _, q := range reqs {
		v := r.preferred(q.dep)
		if best == nil {
			best, bestV = q, v
			continue
		}
		switch {
		case v == bestV || v == "override":
		case IsCommit(v) || IsCommit(bestV):
			if r.nodes[alias+"@"+v].Commit != r.nodes[alias+"@"+bestV].Commit {
				return nil, conflict(alias, best, q, "a commit and another version cannot both be used; require one version everywhere")
			}
		case major(v) != major(bestV):
			return nil, conflict(alias, best, q, fmt.Sprintf("major versions %s and %s are incompatible, and a graph holds one version of each module; move both to one major version", major(bestV), major(v)))
		case semver.Compare(v, bestV) > 0:
			best, bestV = q, v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("@%s is required but was never fetched", alias)
	}
	n := r.nodes[alias+"@"+bestV]
	if n == nil {
		return nil, fmt.Errorf("@%s %s was not fetched", alias, bestV)
	}
	return n, nil
}

func conflict(alias string, a, b *require, why string) error {
	return fmt.Errorf("@%s: conflicting requirements:\n  %s\n  %s\n%s", alias, a.explain(), b.explain(), why)
}

// perms returns the permissions the module declares (and, once
// checkGrants passed, has).
func (n *Node) perms() []string {
	if n.Mod == nil || n.Override != nil {
		return nil
	}
	return n.Mod.Permissions
}

// checkGrants checks that the workspace grants every module the
// permissions it declares, and that every grant names a module of the
// graph. Overrides have every permission.
func (r *resolver) checkGrants() error {
	g := r.g
	for _, gr := range g.Root.Grants {
		if g.Nodes[gr.Alias] == nil {
			return fmt.Errorf("%s: grant(%q): no module @%s in the graph (ferry mod graph lists them)", gr.Pos, gr.Alias, gr.Alias)
		}
	}
	var errs []error
	for _, a := range slices.Sorted(maps.Keys(g.Nodes)) {
		n := g.Nodes[a]
		var granted []string
		where := fmt.Sprintf("add grant(%q, permissions = [...]) to %s", a, ModFileName)
		if gr := g.Root.Grants[a]; gr != nil {
			granted = gr.Permissions
			where = fmt.Sprintf("add them to grant(%q, ...) at %s", a, gr.Pos)
		}
		// A grant is for the repository ferry.lock pins under the alias: a
		// module of the graph that now names another repository under it
		// does not pass the grant on to that repository.
		if old := g.OldLock.Modules[a]; old != nil && old.Repo != n.Repo && len(n.perms()) > 0 && g.Root.Grants[a] != nil {
			errs = append(errs, fmt.Errorf("@%s now comes from %s, not from %s as ferry.lock pins, and the workspace's grant (%s) was given to that one: %s; if you trust %s with [%s], delete the line of %s from ferry.lock and run `ferry mod tidy`",
				a, n.Repo, old.Repo, g.Root.Grants[a].Pos, r.requiredBy(a), n.Repo, strings.Join(n.perms(), ", "), a))
			continue
		}
		var missing, added []string
		for _, p := range n.perms() {
			if !slices.Contains(granted, p) {
				missing = append(missing, p)
			}
			if old := g.OldLock.Modules[a]; old != nil && !slices.Contains(old.Perms, p) {
				added = append(added, p)
			}
		}
		if len(missing) == 0 {
			continue
		}
		isNew := ""
		if len(added) > 0 {
			isNew = fmt.Sprintf("; new since ferry.lock: %s", strings.Join(added, ", "))
		}
		var what []string
		for _, p := range missing {
			what = append(what, fmt.Sprintf("%s (%s)", p, engine.Permissions[p]))
		}
		errs = append(errs, fmt.Errorf("@%s %s needs permission %s (declared at %s), which the workspace does not grant%s; if you trust it to, %s", a, n.Version, strings.Join(what, ", "), n.Mod.PermPos, isNew, where))
	}
	return errors.Join(errs...)
}

// requiredBy explains which requirements name alias's repository.
func (r *resolver) requiredBy(alias string) string {
	var out []string
	for _, q := range r.reqs[alias] {
		out = append(out, q.explain())
	}
	return strings.Join(out, "; ")
}

// lock computes the new ferry.lock and writes it when it changed.
func (r *resolver) lock() error {
	g := r.g
	g.Lock = &Lock{Path: LockFileName, Modules: map[string]*Locked{}}
	for _, a := range slices.Sorted(maps.Keys(g.Nodes)) {
		n := g.Nodes[a]
		if n.Override != nil {
			continue
		}
		g.Lock.Modules[a] = &Locked{Alias: a, Repo: n.Repo, Version: n.Version, Commit: n.Commit, Hash: n.Hash, Perms: n.perms()}
	}
	if g.Lock.Equal(g.OldLock) {
		return nil
	}
	if r.o.Locked {
		return fmt.Errorf("%s is not up to date with %s (%s), and --locked (the default in CI) does not change it; run `ferry mod tidy` and commit %s", LockFileName, ModFileName, lockDiff(g.OldLock, g.Lock), LockFileName)
	}
	return writeAtomic(filepath.Join(g.RootDir, LockFileName), g.Lock.Format())
}

// lockDiff says how the first module that differs between two locks
// differs.
func lockDiff(old, now *Lock) string {
	all := map[string]bool{}
	for a := range old.Modules {
		all[a] = true
	}
	for a := range now.Modules {
		all[a] = true
	}
	for _, a := range slices.Sorted(maps.Keys(all)) {
		o, n := old.Modules[a], now.Modules[a]
		switch {
		case o == nil:
			return fmt.Sprintf("@%s %s would be added", a, n.Version)
		case n == nil:
			return fmt.Sprintf("@%s is no longer required", a)
		case o.Version != n.Version || o.Commit != n.Commit || o.Hash != n.Hash || o.Repo != n.Repo:
			return fmt.Sprintf("@%s would change from %s to %s", a, o.Version, n.Version)
		case !slices.Equal(o.Perms, n.Perms):
			return fmt.Sprintf("@%s's permissions would change from [%s] to [%s]", a, strings.Join(o.Perms, ", "), strings.Join(n.Perms, ", "))
		}
	}
	return "same modules"
}

// Load resolves the module graph of the workspace in dir (see Resolve)
// and returns it for evaluation; nil when it has no ferry.mod.
func Load(ctx context.Context, dir string, o Options) (*engine.Modules, error) {
	g, err := Resolve(ctx, dir, o)
	if err != nil || g.Root == nil {
		return nil, err
	}
	return g.Modules(), nil
}

// Modules returns the graph as the evaluation's module repositories.
func (g *Graph) Modules() *engine.Modules {
	m := &engine.Modules{
		File:    filepath.Join(g.RootDir, ModFileName),
		Deps:    set(g.Edges[""]),
		ByAlias: map[string]*engine.SharedModule{},
		Files:   []string{filepath.Join(g.RootDir, ModFileName), filepath.Join(g.RootDir, LockFileName)},
	}
	for a, n := range g.Nodes {
		file := "its repository has no ferry.mod"
		if n.Mod != nil {
			file = n.Mod.Path
		}
		grant := ModFileName
		if gr := g.Root.Grants[a]; gr != nil {
			grant = gr.Pos.String()
		}
		var src engine.ModuleSource = engine.DirSource{Repo: a, Tree: engine.NewTree(n.Dir)}
		version := n.Version
		if n.Override == nil {
			src = hashedSource{src.(engine.DirSource)}
		} else {
			version = ""
		}
		m.ByAlias[a] = &engine.SharedModule{
			Alias:   a,
			Version: version,
			Source:  src,
			Hash:    n.Hash,
			Deps:    set(g.Edges[a]),
			Perms:   set(n.perms()),
			All:     n.Override != nil,
			Grant:   grant,
			File:    file,
		}
	}
	return m
}

func set(list []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range list {
		m[s] = true
	}
	return m
}

// hashedSource serves the files of a pinned module (from the cache or
// ferry_modules) that its hash covers: regular files outside the folders
// hashTree leaves out, reached through no link. Any other file could be
// changed while the module still verifies against ferry.lock.
type hashedSource struct{ engine.DirSource }

func (s hashedSource) ReadModule(p string) (*engine.Module, error) {
	parts := strings.Split(p, "/")
	for i := range parts {
		rel := strings.Join(parts[:i+1], "/")
		fi, err := s.Tree.Lstat(rel)
		if err != nil {
			break // DirSource says what is missing
		}
		last := i == len(parts)-1
		if slices.Contains(skipDirs, parts[i]) || fi.Mode()&fs.ModeSymlink != 0 || !last && !fi.IsDir() || last && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not among the files ferry.lock pins for @%s (its hash leaves out links and the folders %s): it is loaded only from the module's own regular files", rel, s.Repo, strings.Join(skipDirs, ", "))
		}
	}
	return s.DirSource.ReadModule(p)
}
