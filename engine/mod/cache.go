package mod

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/engine/platform"
)

// A Cache is the user-level module cache, shared by every workspace of
// the user. It is content-addressed: a module's files live in
// tree/<hash>, named by the hash of their contents, and are never changed
// once there. Two ferry processes may fill it at once: git mirrors are
// guarded by a lock file each, and trees are written to a temporary
// folder and renamed into place.
//
//	git/<id>.git    a bare mirror of each repository (id: hash of its URL)
//	git/<id>.lock   held while the mirror is fetched into
//	commit/<id>/<c> the tree hash of commit c, once extracted
//	commit/<id>/tag-<t> the commit tag t pointed to when last resolved
//	tree/<hash>/    a module's files, read-only
//	tree/<hash>.sum one line per file: its SHA-256 and path
type Cache struct {
	Dir string
}

// DefaultCache returns the cache in $FERRY_MODCACHE, or ferry/mod in the
// user's cache folder ($XDG_CACHE_HOME or ~/.cache on Linux).
func DefaultCache() (*Cache, error) {
	if d := os.Getenv("FERRY_MODCACHE"); d != "" {
		return &Cache{Dir: d}, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("module cache: %w; set FERRY_MODCACHE to a folder", err)
	}
	return &Cache{Dir: filepath.Join(d, "ferry", "mod")}, nil
}

func repoID(url string) string {
	s := sha256.Sum256([]byte(url))
	return hex.EncodeToString(s[:12])
}

// TreeDir returns the folder of the tree with the given hash.
func (c *Cache) TreeDir(hash string) string {
	name := strings.NewReplacer("/", "_", "+", "-", ":", "-").Replace(hash)
	return filepath.Join(c.Dir, "tree", name)
}

// lockRepo takes the lock of the mirror of url, waiting for another
// process that holds it; the returned function releases it.
func (c *Cache) lockRepo(ctx context.Context, url string) (func(), error) {
	dir := filepath.Join(c.Dir, "git")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("module cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, repoID(url)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("module cache: %w", err)
	}
	for {
		ok, err := platform.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("module cache lock: %w", err)
		}
		if ok {
			return func() { f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// mirror returns the bare mirror of url, creating it. Called with the
// repository's lock held.
func (c *Cache) mirror(ctx context.Context, url string) (string, error) {
	dir, err := filepath.Abs(c.mirrorDir(url))
	if err != nil {
		return "", err
	}
	if err := checkPrivateTree(dir, "a git mirror"); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	// --shared=0644: git makes the mirror's files and folders writable by
	// the user alone, whatever the umask, as checkPrivateTree wants them.
	if _, err := git(ctx, "", "init", "-q", "--bare", "--shared=0644", dir); err != nil {
		return "", err
	}
	return dir, nil
}

func (c *Cache) mirrorDir(url string) string {
	return filepath.Join(c.Dir, "git", repoID(url)+".git")
}

// cachedTree returns the tree hash of commit of url when the cache holds
// its files, or "".
func (c *Cache) cachedTree(url, commit string) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "commit", repoID(url), commit))
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(b))
	if _, err := os.Stat(c.TreeDir(h)); err != nil {
		return ""
	}
	return h
}

// taggedCommit returns the commit that tag of url pointed to when ferry
// last resolved it, or "": read from a file, so that loads need not run
// git to check a pin.
func (c *Cache) taggedCommit(url, tag string) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "commit", repoID(url), "tag-"+tag))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// recordTag records that tag of url points to commit; a failure only
// makes the next check run git.
func (c *Cache) recordTag(url, tag, commit string) {
	dir := filepath.Join(c.Dir, "commit", repoID(url))
	if os.MkdirAll(dir, 0o755) == nil {
		writeAtomic(filepath.Join(dir, "tag-"+tag), []byte(commit+"\n"))
	}
}

// mirrorTag returns the commit the tag points to in the mirror of url, or
// "" when the mirror does not have it: for working offline.
func (c *Cache) mirrorTag(ctx context.Context, url, tag string) string {
	dir := c.mirrorDir(url)
	if checkPrivateTree(dir, "a git mirror") != nil {
		return "" // the fetch that follows says what is wrong
	}
	out, err := git(ctx, dir, "rev-parse", "--verify", "-q", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// fill brings the files of commit (of version) of url into the cache and
// returns their tree hash. Called with the repository's lock held.
func (c *Cache) fill(ctx context.Context, url, version, commit string) (string, error) {
	if h := c.cachedTree(url, commit); h != "" {
		return h, nil
	}
	dir, err := c.mirror(ctx, url)
	if err != nil {
		return "", err
	}
	if err := fetchInto(ctx, dir, url, version, commit); err != nil {
		return "", err
	}
	trees := filepath.Join(c.Dir, "tree")
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return "", err
	}
	removeStale(trees)
	tmp, err := os.MkdirTemp(trees, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := extract(ctx, dir, commit, tmp); err != nil {
		return "", err
	}
	hash, sums, err := hashTree(tmp)
	if err != nil {
		return "", err
	}
	final := c.TreeDir(hash)
	if err := writeAtomic(final+".sum", []byte(sums)); err != nil {
		return "", err
	}
	if err := readOnly(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(final); serr != nil {
			return "", fmt.Errorf("module cache: %w", err)
		}
		// Another process put the same tree there first.
		makeWritable(tmp)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "commit", repoID(url)), 0o755); err != nil {
		return "", err
	}
	return hash, writeAtomic(filepath.Join(c.Dir, "commit", repoID(url), commit), []byte(hash+"\n"))
}

// extract writes the files of commit from the mirror dir into dst: the
// blobs its tree names, byte for byte. It reads them with git ls-tree and
// git cat-file --batch rather than git archive, which applies the
// module's .gitattributes (export-ignore, export-subst, ident, eol) and
// the user's filter drivers and core.autocrlf, so that the files would be
// other than the commit's and a filter's command would run. Symbolic
// links and submodules are left out: a module is made of regular files.
func extract(ctx context.Context, dir, commit, dst string) error {
	list, err := git(ctx, dir, "ls-tree", "-r", "-z", "--full-tree", commit+"^{tree}")
	if err != nil {
		return err
	}
	type blob struct{ id, name string }
	var blobs []blob
	for _, entry := range strings.Split(string(list), "\x00") {
		meta, name, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta) // mode type object
		if len(f) != 3 || f[1] != "blob" || (f[0] != "100644" && f[0] != "100755") {
			continue
		}
		if name = path.Clean(name); fs.ValidPath(name) {
			blobs = append(blobs, blob{f[2], name})
		}
	}
	if len(blobs) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		w := bufio.NewWriter(in)
		for _, b := range blobs {
			w.WriteString(b.id + "\n")
		}
		w.Flush()
		in.Close()
	}()
	err = readBlobs(bufio.NewReader(out), len(blobs), func(i int, r io.Reader) error {
		p := filepath.Join(dst, filepath.FromSlash(blobs[i].name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("git cat-file %s: %w", commit, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file %s: %s", commit, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// readBlobs reads n objects of git cat-file --batch's output, each a
// header line "<object> blob <size>", its contents, and a newline; it
// calls write with each one's contents.
func readBlobs(r *bufio.Reader, n int, write func(i int, r io.Reader) error) error {
	for i := range n {
		header, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[1] != "blob" {
			return fmt.Errorf("unexpected object %q", strings.TrimSpace(header))
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("unexpected object %q", strings.TrimSpace(header))
		}
		lr := &io.LimitedReader{R: r, N: size}
		if err := write(i, lr); err != nil {
			return err
		}
		if lr.N != 0 {
			return io.ErrUnexpectedEOF
		}
		if b, err := r.ReadByte(); err != nil || b != '\n' {
			return fmt.Errorf("object %s: no newline after its contents", f[0])
		}
	}
	return nil
}

// skipDirs are left out of a module's tree when it is a folder on disk
// (an override, or a vendored copy).
var skipDirs = []string{".git", ".ferry"}

// hashTree returns the hash of the files under dir and the list it is
// computed from: one line per regular file, sorted by path, with the
// file's SHA-256 ("h1:", as Go's dirhash.Hash1).
func hashTree(dir string) (hash, sums string, err error) {
	var lines []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && slices.Contains(skipDirs, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		lines = append(lines, fmt.Sprintf("%x  %s\n", s, filepath.ToSlash(rel)))
		return nil
	})
	if err != nil {
		return "", "", err
	}
	slices.Sort(lines)
	sums = strings.Join(lines, "")
	s := sha256.Sum256([]byte(sums))
	return "h1:" + base64.StdEncoding.EncodeToString(s[:]), sums, nil
}

// differs names the first file whose line differs between two sums lists,
// or "".
func differs(a, b string) string {
	la, lb := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	inB := map[string]bool{}
	for _, l := range lb {
		inB[l] = true
	}
	inA := map[string]bool{}
	for _, l := range la {
		inA[l] = true
	}
	var names []string
	for _, l := range append(la, lb...) {
		if l != "" && (!inA[l] || !inB[l]) {
			_, name, _ := strings.Cut(strings.TrimSuffix(l, "\n"), "  ")
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return names[0]
}

// removeStale removes the temporary folders and files that a process which
// died while filling the cache left in dir, an hour old or more (a fill
// in progress is younger).
func removeStale(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			p := filepath.Join(dir, e.Name())
			makeWritable(p)
			os.RemoveAll(p)
		}
	}
}

func readOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o444)
	})
}

func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o644)
		}
		return nil
	})
}

// writeAtomic writes data to p through a temporary file and a rename.
func writeAtomic(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return errors.Join(fmt.Errorf("write %s", p), err)
	}
	return nil
}

// check checks that the cache's own folders (its root, git/, commit/ and
// tree/) belong to the current user and that no one else may write in
// them: another user who could would choose the files of the modules
// ferry loads, or the config and hooks of the git mirrors ferry runs git
// in. Folders not made yet are fine: ferry makes them private.
func (c *Cache) check() error {
	if fi, err := os.Stat(c.Dir); err == nil {
		if err := checkPrivate(c.Dir, fi, "the module cache"); err != nil {
			return err
		}
	}
	for _, sub := range []string{"git", "commit", "tree"} {
		if err := checkPrivateDir(filepath.Join(c.Dir, sub), "a folder of the module cache"); err != nil {
			return err
		}
	}
	return nil
}

// checkRepo checks the cache's folder of what it knows of url's commits,
// and url's git mirror.
func (c *Cache) checkRepo(url string) error {
	if err := c.checkCommits(url); err != nil {
		return err
	}
	return checkPrivateTree(c.mirrorDir(url), "a git mirror")
}

// checkCommits checks the cache's folder of what it knows of url's
// commits.
func (c *Cache) checkCommits(url string) error {
	return checkPrivateDir(filepath.Join(c.Dir, "commit", repoID(url)), "a folder of the module cache")
}

// checkPrivateDir checks the folder p with checkPrivate, when it exists;
// a link there is an error, since ferry never makes one.
func checkPrivateDir(p, what string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("module cache: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s in the module cache is not a folder (%s): ferry keeps %s there and makes it afresh; remove it (rm %s)", p, fi.Mode().Type(), what, p)
	}
	return checkPrivate(p, fi, what)
}

// checkPrivateTree checks the folder p, when it exists, and every folder
// and file under it with checkPrivate: a module's tree, or a git mirror.
// FETCH_HEAD is left out: git writes it by the umask alone, and reads
// nothing from it that ferry relies on.
func checkPrivateTree(p, what string) error {
	if err := checkPrivateDir(p, what); err != nil || !isDir(p) {
		return err
	}
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("module cache: %w", err)
		}
		if q == p || d.Name() == "FETCH_HEAD" || d.Type()&fs.ModeSymlink != 0 {
			return nil // links: a module's tree leaves them out, git makes none
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("module cache: %w", err)
		}
		return checkPrivate(q, fi, "a file of "+what)
	})
}

// checkPrivate checks that the file or folder p (fi) belongs to the
// current user and that its group and others may not write it, as the
// workspace's .ferry folder is checked: the module cache holds what ferry
// trusts without checking again (git mirrors, and trees between their
// check against ferry.lock and their load).
func checkPrivate(p string, fi fs.FileInfo, what string) error {
	if uid, ok := platform.Owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s (%s) belongs to uid %d, not to you (uid %d): ferry will not load modules from, or run git in, another user's folder, who could change them under it; remove it (as its owner or root; ferry fetches it again), or set FERRY_MODCACHE to a folder of your own", p, what, uid, os.Geteuid())
	}
	if m := fi.Mode().Perm(); m&0o022 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("%s (%s) may be written by other users (mode %v): ferry will not load modules from, or run git in, a folder others can change; make it yours alone (chmod -R go-w %s), or set FERRY_MODCACHE to a folder of your own", p, what, fi.Mode().Perm(), p)
	}
	return nil
}
