package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// racyWindow is how recent a file's mtime may be, relative to the moment it
// was hashed, before the cached hash is distrusted: file systems stamp
// modification times from a coarse clock, so two writes within one tick can
// leave size and mtime unchanged.
const racyWindow = 50 * time.Millisecond

// fileStat is one stat cache entry: a file's identity and its content hash.
type fileStat struct {
	Size  int64
	Mtime int64 // ns
	Ctime int64 // ns
	Ino   uint64
	Racy  bool // mtime was within racyWindow of hashing: rehash next time
	Sum   Digest
}

// A FileIndex hashes workspace files through a stat cache, so files whose
// size, times and inode are unchanged are not read again.
//
// It reads through a Tree, and a symbolic link is an input as a link: its
// digest is that of its target string, never of what it points to, and a
// folder walk lists links without entering them. So a link cannot make a
// key read a file outside the workspace, a link to a folder is not walked,
// and a loop of links is not an error.
type FileIndex struct {
	tree *Tree

	mu      sync.Mutex
	entries map[string]fileStat // by workspace-relative slash path
	dirty   bool                // entries changed since loaded
	// changed holds the entries set since the last save, for a save that
	// writes only those; untracked is set when that is not enough (an
	// entry was removed, or too many changed to be worth tracking).
	changed   map[string]struct{}
	untracked bool

	hashed atomic.Int64 // files read and hashed
	stated atomic.Int64 // files stat-ed

	// memo holds the digests of the inputs no change touched since Sums
	// took them, in a watch (see Watched); nil otherwise.
	memo map[string]*kept
}

// maxTrackedChanges bounds FileIndex.changed: past it, the next save
// rewrites the whole state file, which a run that hashed that many files
// barely notices.
const maxTrackedChanges = 4096

// NewFileIndex returns an index for root seeded with cached entries.
func NewFileIndex(root string, entries map[string]fileStat) *FileIndex {
	if entries == nil {
		entries = map[string]fileStat{}
	}
	return &FileIndex{tree: NewTree(root), entries: entries}
}

// Counts returns how many files were stat-ed and how many were read and
// hashed since the index was made.
func (ix *FileIndex) Counts() (stated, hashed int64) { return ix.stated.Load(), ix.hashed.Load() }

// What a path is, as lstat says: a link is not followed.
type fileKind uint8

const (
	kindFile fileKind = iota
	kindDir
	kindLink
	kindOther // a socket, pipe or device: never opened
)

// errChanged reports a file replaced by a link or a special file while
// ferry read it.
var errChanged = errors.New("it changed while ferry read it; run again")

// linkSum is the digest of a symbolic link whose target string is target.
func linkSum(target string) Digest { return NewHasher().String("symlink").String(target).Sum() }

// Hash returns the digest of the workspace-relative path rel: the contents
// of a file, the target string of a link. It reports fs.ErrNotExist
// (wrapped) for a missing file, and a *LinkError for a path that leads out
// of the workspace through a link.
func (ix *FileIndex) Hash(rel string) (Digest, error) {
	ix.invalidateFile(rel) // a rule's output, which it may have just written
	st := ix.newStatter()
	defer st.close()
	cur, kind, err := st.stat(rel)
	if err != nil {
		ix.forget(rel)
		return Digest{}, err
	}
	if kind == kindDir {
		return Digest{}, fmt.Errorf("%s is a folder", rel)
	}
	return ix.hash(st, rel, cur, kind)
}

// hash returns the digest of rel whose stat is cur, from the cache when cur
// matches the cached entry.
func (ix *FileIndex) hash(st *statter, rel string, cur fileStat, kind fileKind) (Digest, error) {
	ix.mu.Lock()
	old, ok := ix.entries[rel]
	ix.mu.Unlock()
	if ok && !old.Racy && old.Size == cur.Size && old.Mtime == cur.Mtime && old.Ctime == cur.Ctime && old.Ino == cur.Ino {
		return old.Sum, nil
	}
	var sum Digest
	switch kind {
	case kindLink:
		target, err := ix.tree.Readlink(rel)
		if err != nil {
			return Digest{}, err
		}
		sum = linkSum(target)
	case kindOther:
		return Digest{}, fmt.Errorf("%s is not a file, a folder or a link (a socket, pipe or device?): ferry cannot use it as an input", rel)
	default:
		f, opened, err := st.open(rel)
		if err != nil {
			return Digest{}, err
		}
		defer f.Close()
		if sum, err = HashReader(f); err != nil {
			return Digest{}, fmt.Errorf("read %s: %w", rel, err)
		}
		ix.hashed.Add(1)
		cur = opened
	}
	cur.Sum = sum
	cur.Racy = time.Since(time.Unix(0, cur.Mtime)) < racyWindow
	ix.mu.Lock()
	ix.entries[rel] = cur
	ix.dirty = true
	if !ix.untracked {
		if ix.changed == nil {
			ix.changed = map[string]struct{}{}
		}
		ix.changed[rel] = struct{}{}
		if len(ix.changed) > maxTrackedChanges {
			ix.changed, ix.untracked = nil, true
		}
	}
	ix.mu.Unlock()
	return sum, nil
}

// closeRoot closes the workspace folder the index holds open; the index
// cannot stat afterwards.
func (ix *FileIndex) closeRoot() { ix.tree.Close() }

func (ix *FileIndex) forget(rel string) {
	ix.mu.Lock()
	if _, ok := ix.entries[rel]; ok {
		delete(ix.entries, rel)
		ix.dirty = true
		ix.changed, ix.untracked = nil, true
	}
	ix.mu.Unlock()
}

// skipDirs are never walked when a folder is an input.
var skipDirs = map[string]bool{".git": true, StateDir: true}

// Sums returns the files and links that workspace-relative inputs stand for
// (a folder stands for every file and link below it) with their digests,
// sorted by path. Each costs one stat when it is unchanged. A missing input
// is an error.
func (ix *FileIndex) Sums(inputs []string) ([]FileSum, error) {
	out := make([]FileSum, 0, len(inputs))
	st := ix.newStatter()
	defer st.close()
	add := func(rel string, cur fileStat, kind fileKind) error {
		sum, err := ix.hash(st, rel, cur, kind)
		if err != nil {
			return err
		}
		out = append(out, FileSum{Path: rel, Sum: sum})
		return nil
	}
	watching := ix.watching()
	for _, in := range inputs {
		if k, ok := ix.memoized(in); ok { // no change touched it
			if !k.dir {
				out = append(out, k.files...)
				continue
			}
			if err := ix.sumsWatched(st, in, &out, add); err != nil {
				return nil, err
			}
			continue
		}
		cur, kind, err := st.stat(in)
		if err != nil {
			return nil, err
		}
		if kind != kindDir {
			if err := add(in, cur, kind); err != nil {
				return nil, err
			}
			ix.keep(in, &kept{files: out[len(out)-1:]})
			continue
		}
		if watching {
			if err := ix.sumsWatched(st, in, &out, add); err != nil {
				return nil, err
			}
			continue
		}
		err = fs.WalkDir(ix.tree.FS(), in, func(rel string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if skipDirs[d.Name()] && rel != in {
					return fs.SkipDir
				}
				return nil
			}
			cur, kind, err := st.stat(rel)
			if err != nil {
				return err
			}
			if kind == kindDir { // a link replaced by a folder since it was listed
				return fmt.Errorf("%s changed while ferry read it; run again", rel)
			}
			return add(rel, cur, kind)
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return dedup(out), nil
}

func dedup(sorted []FileSum) []FileSum {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s.Path != sorted[i-1].Path {
			out = append(out, s)
		}
	}
	return out
}
