package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// contextFS serves a build context to BuildKit over its session: the
// entries ferry chose (after .dockerignore and ignore=), read from the
// workspace through its Tree, owned by root, as the tar stream of the
// classic builder has them. With a Matcher, each file's contents pass
// through a Guard: a file holding a secret's value fails the transfer
// before any byte of the value is sent, and Err says which.
type contextFS struct {
	tree    *engine.Tree
	entries []entry        // in the order a walk visits them
	byName  map[string]int // index in entries
	files   map[string][]byte
	values  *redact.Matcher
	// found is called when a file holds a secret's value: the Engine,
	// which only sees a failed transfer, might otherwise wait for more.
	found func()
	mu    sync.Mutex
	err   error // the first *secretContentError
}

// newContextFS returns the context bc as an fsutil.FS. Entries that lie
// outside the walk (a Dockerfile kept outside the context, or excluded by
// a pattern on its folder) are left out: BuildKit reads the Dockerfile
// from a source of its own.
func newContextFS(tree *engine.Tree, bc *buildContext, values *redact.Matcher) *contextFS {
	dirs := map[string]bool{".": true}
	var entries []entry
	for _, e := range bc.entries {
		if e.name == outsideDockerfile || !dirs[path.Dir(e.name)] {
			continue
		}
		if e.mode.IsDir() {
			dirs[e.name] = true
		}
		entries = append(entries, e)
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return comparePaths(a.name, b.name) })
	byName := make(map[string]int, len(entries))
	for i, e := range entries {
		byName[e.name] = i
	}
	return &contextFS{tree: tree, entries: entries, byName: byName, values: values}
}

// dockerfileFS returns a folder holding one file, name, with contents b.
func dockerfileFS(name string, b []byte) *contextFS {
	return &contextFS{entries: []entry{{name: name}}, files: map[string][]byte{name: b}}
}

// comparePaths orders slash paths as a walk visits them: component by
// component, so that "a/b" comes before "a.txt".
func comparePaths(a, b string) int {
	for {
		ha, ra, moreA := strings.Cut(a, "/")
		hb, rb, moreB := strings.Cut(b, "/")
		if c := strings.Compare(ha, hb); c != 0 {
			return c
		}
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		}
		a, b = ra, rb
	}
}

// Walk calls fn for every entry under target ("" for all), in order.
func (c *contextFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	target = strings.Trim(path.Clean("/"+target), "/")
	skip := "" // a folder fn skipped, with its trailing slash
	for _, e := range c.entries {
		if target != "" && e.name != target && !strings.HasPrefix(e.name, target+"/") {
			continue
		}
		if skip != "" && strings.HasPrefix(e.name, skip) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := c.stat(e)
		if err != nil {
			return err
		}
		if err := fn(e.name, &fsutil.DirEntryInfo{Stat: st}, nil); err != nil {
			if errors.Is(err, fs.SkipDir) && st.IsDir() {
				skip = e.name + "/"
				continue
			}
			return err
		}
	}
	return nil
}

// stat describes entry e as fsutil does.
func (c *contextFS) stat(e entry) (*types.Stat, error) {
	if b, ok := c.files[e.name]; ok {
		// Always newer: the Engine then never keeps an older version.
		return &types.Stat{Path: e.name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Now().UnixNano()}, nil
	}
	fi, err := c.tree.Lstat(e.ws)
	if err != nil {
		return nil, fmt.Errorf("context file %s: %w", e.ws, err)
	}
	st := &types.Stat{Path: e.name, Mode: uint32(fi.Mode()), ModTime: fi.ModTime().UnixNano()}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if st.Linkname, err = c.tree.Readlink(e.ws); err != nil {
			return nil, fmt.Errorf("context file %s: %w", e.ws, err)
		}
	case fi.Mode().IsRegular():
		st.Size = fi.Size()
	}
	return st, nil
}

// Open returns the contents of the context file name.
func (c *contextFS) Open(name string) (io.ReadCloser, error) {
	if b, ok := c.files[name]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	i, ok := c.byName[name]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	e := c.entries[i]
	f, err := c.tree.Open(e.ws)
	if err != nil {
		return nil, fmt.Errorf("context file %s: %w", e.ws, err)
	}
	if c.values == nil {
		return f, nil
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		err := copyContents(c.values.Guard(pw), f)
		if err = contentError(e.ws, err); err != nil {
			var se *secretContentError
			if errors.As(err, &se) {
				c.mu.Lock()
				if c.err == nil {
					c.err = se
				}
				c.mu.Unlock()
				if c.found != nil {
					c.found()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Err returns the *secretContentError that stopped the transfer, if any.
func (c *contextFS) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
