package engine

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// In a watch, the file watcher reports every change under the workspace,
// so a file or folder that no change touched since its digests were taken
// needs no stat: the index keeps the digest of each file input, and for
// each folder it walked the digests of the files right in it and the names
// of its subfolders; Sums hands them back until Invalidate names a path
// that touches them. So a change to one file of a folder input of 10,000
// files stats the hundred files of its own folder, not the 10,000. The
// loop calls Invalidate with each batch the moment it arrives, before it
// runs anything for it; the outputs a rule wrote are invalidated when the
// engine hashes them after the rule, since their events may arrive after
// the next rule computes its key.

// maxInvalidate is the batch size above which Invalidate forgets
// everything rather than look for what each path touches.
const maxInvalidate = 256

// A kept holds what the index kept of a file input (files only) or a
// folder: the digests of the files right in it and the names of its
// subfolders (workspace-relative paths).
type kept struct {
	dir   bool
	files []FileSum
	dirs  []string
}

// Watched makes Sums keep and reuse the digests of inputs until Invalidate
// names a path that touches them: the caller promises to report every
// change (a file watcher on the whole workspace, started before the first
// Sums). Outside a watch, every input is stat-ed on each Sums.
func (ix *FileIndex) Watched() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.memo = map[string]*kept{}
}

// watching reports whether Watched was called.
func (ix *FileIndex) watching() bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.memo != nil
}

// Invalidate forgets what the index kept of the changed paths (workspace-
// relative slash paths), of the folders that hold them, and of what lies
// below them (a folder removed or renamed); all forgets everything, as
// after lost events.
func (ix *FileIndex) Invalidate(paths []string, all bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.memo) == 0 {
		return
	}
	if all || len(paths) > maxInvalidate {
		clear(ix.memo)
		return
	}
	for _, p := range paths {
		delete(ix.memo, p)
		delete(ix.memo, path.Dir(p)) // its listing, or p's digest in it
	}
	// A path may be a folder removed or renamed, taking what lies below
	// it along.
	for k := range ix.memo {
		for _, p := range paths {
			if strings.HasPrefix(k, p+"/") || p == "." {
				delete(ix.memo, k)
				break
			}
		}
	}
}

// invalidateFile forgets what the index kept of the file rel and of every
// folder above it (a rule may have created folders for it, whose events
// have not arrived yet), without the search below rel that Invalidate
// makes, which a file has nothing under: Hash calls it for every output
// of every rule a run checks.
func (ix *FileIndex) invalidateFile(rel string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.memo) == 0 {
		return
	}
	for d := rel; ; d = path.Dir(d) {
		delete(ix.memo, d)
		if d == "." || d == "/" {
			return
		}
	}
}

// memoized returns what the index kept of the path p.
func (ix *FileIndex) memoized(p string) (*kept, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k, ok := ix.memo[p]
	return k, ok
}

// keep records k for the path p, unless one of its files was hashed so
// soon after its last change that a rewrite within the same clock tick
// could go unseen (see racyWindow).
func (ix *FileIndex) keep(p string, k *kept) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.memo == nil {
		return
	}
	for _, s := range k.files {
		if ix.entries[s.Path].Racy {
			return
		}
	}
	k.files = append([]FileSum(nil), k.files...) // the caller's slice is sorted later
	ix.memo[p] = k
}

// sumsWatched appends the digests of the files and links below the folder
// dir to out, from what the index kept where no change touched it, and
// returns out. add hashes one file into out.
func (ix *FileIndex) sumsWatched(st *statter, dir string, out *[]FileSum, add func(string, fileStat, fileKind) error) error {
	if k, ok := ix.memoized(dir); ok {
		*out = append(*out, k.files...)
		for _, d := range k.dirs {
			if err := ix.sumsWatched(st, d, out, add); err != nil {
				return err
			}
		}
		return nil
	}
	entries, err := fs.ReadDir(ix.tree.FS(), dir)
	if err != nil {
		return err
	}
	k := &kept{dir: true}
	from := len(*out)
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if e.IsDir() {
			if !skipDirs[e.Name()] {
				k.dirs = append(k.dirs, rel)
			}
			continue
		}
		cur, kind, err := st.stat(rel)
		if err != nil {
			return err
		}
		if kind == kindDir { // a link replaced by a folder since it was listed
			return fmt.Errorf("%s changed while ferry read it; run again", rel)
		}
		if err := add(rel, cur, kind); err != nil {
			return err
		}
	}
	k.files = (*out)[from:]
	for _, d := range k.dirs {
		if err := ix.sumsWatched(st, d, out, add); err != nil {
			return err
		}
	}
	ix.keep(dir, k)
	return nil
}
