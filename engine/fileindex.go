package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
type FileIndex struct {
	root string

	mu      sync.Mutex
	entries map[string]fileStat // by workspace-relative slash path
	dirty   bool                // entries changed since loaded

	hashed atomic.Int64 // files read and hashed
	stated atomic.Int64 // files stat-ed

	rootOnce sync.Once
	rootFD   int // the root folder, for stat-ing relative paths (Linux)
	rootErr  error
}

// NewFileIndex returns an index for root seeded with cached entries.
func NewFileIndex(root string, entries map[string]fileStat) *FileIndex {
	if entries == nil {
		entries = map[string]fileStat{}
	}
	return &FileIndex{root: root, entries: entries}
}

// Counts returns how many files were stat-ed and how many were read and
// hashed since the index was made.
func (ix *FileIndex) Counts() (stated, hashed int64) { return ix.stated.Load(), ix.hashed.Load() }

// Hash returns the content digest of the workspace-relative file rel. It
// reports fs.ErrNotExist (wrapped) for a missing file.
func (ix *FileIndex) Hash(rel string) (Digest, error) {
	cur, isDir, err := ix.stat(rel)
	if err != nil {
		ix.forget(rel)
		return Digest{}, err
	}
	if isDir {
		return Digest{}, fmt.Errorf("%s is a folder", rel)
	}
	return ix.hash(rel, cur)
}

// hash returns the digest of the file whose stat is cur, from the cache when
// cur matches the cached entry.
func (ix *FileIndex) hash(rel string, cur fileStat) (Digest, error) {
	ix.mu.Lock()
	old, ok := ix.entries[rel]
	ix.mu.Unlock()
	if ok && !old.Racy && old.Size == cur.Size && old.Mtime == cur.Mtime && old.Ctime == cur.Ctime && old.Ino == cur.Ino {
		return old.Sum, nil
	}
	f, err := os.Open(filepath.Join(ix.root, filepath.FromSlash(rel)))
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	sum, err := HashReader(f)
	if err != nil {
		return Digest{}, fmt.Errorf("read %s: %w", rel, err)
	}
	ix.hashed.Add(1)
	cur.Sum = sum
	cur.Racy = time.Since(time.Unix(0, cur.Mtime)) < racyWindow
	ix.mu.Lock()
	ix.entries[rel] = cur
	ix.dirty = true
	ix.mu.Unlock()
	return sum, nil
}

func (ix *FileIndex) forget(rel string) {
	ix.mu.Lock()
	if _, ok := ix.entries[rel]; ok {
		delete(ix.entries, rel)
		ix.dirty = true
	}
	ix.mu.Unlock()
}

// skipDirs are never walked when a folder is an input.
var skipDirs = map[string]bool{".git": true, StateDir: true}

// Sums returns the files that workspace-relative inputs stand for (a
// folder stands for every file below it) with their digests, sorted by path.
// Each file costs one stat when it is unchanged. A missing input is an error.
func (ix *FileIndex) Sums(inputs []string) ([]FileSum, error) {
	out := make([]FileSum, 0, len(inputs))
	st := ix.newStatter()
	defer st.close()
	for _, in := range inputs {
		cur, isDir, err := st.stat(in)
		if err != nil {
			return nil, err
		}
		if !isDir {
			sum, err := ix.hash(in, cur)
			if err != nil {
				return nil, err
			}
			out = append(out, FileSum{Path: in, Sum: sum})
			continue
		}
		abs := filepath.Join(ix.root, filepath.FromSlash(in))
		err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if skipDirs[d.Name()] && p != abs {
					return filepath.SkipDir
				}
				return nil
			}
			rel := path.Join(in, filepath.ToSlash(p[len(abs)+1:]))
			cur, _, err := st.stat(rel)
			if err != nil {
				return err
			}
			sum, err := ix.hash(rel, cur)
			if err != nil {
				return err
			}
			out = append(out, FileSum{Path: rel, Sum: sum})
			return nil
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
