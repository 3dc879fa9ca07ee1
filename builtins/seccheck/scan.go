package seccheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// maxScanSize is the largest file the secret scan reads; bigger files are
// data, not configuration.
const maxScanSize = 4 << 20

// A workspaceScan is what scanWorkspace found and read.
type workspaceScan struct {
	hits       []secretHit
	files      int      // files read
	unreadable []string // workspace-relative paths it could not read, with the cause
}

// scanWorkspace returns the credentials in the files under root, leaving
// out .git, .ferry, what .gitignore files ignore, binary files and files
// over maxScanSize. A file or folder it cannot read (permission denied) is
// listed, not an error: the rest is still checked.
func scanWorkspace(ctx context.Context, root string) (*workspaceScan, error) {
	var patterns []gitignore.Pattern
	ws := &workspaceScan{}
	skip := func(p string, err error) {
		rel, _ := filepath.Rel(root, p)
		cause := err.Error()
		if errors.Is(err, fs.ErrPermission) {
			cause = "permission denied"
		}
		ws.unreadable = append(ws.unreadable, fmt.Sprintf("%s (%s)", filepath.ToSlash(rel), cause))
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			skip(p, err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if rel == "." {
			parts = nil
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == ".ferry" {
				return filepath.SkipDir
			}
			if len(parts) > 0 && gitignore.NewMatcher(patterns).Match(parts, true) {
				return filepath.SkipDir
			}
			// Like git, read no .gitignore that is a link (it could lead
			// out of the workspace, or to a file that never ends).
			gi := filepath.Join(p, ".gitignore")
			if fi, err := os.Lstat(gi); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxScanSize {
				return nil
			}
			if b, err := os.ReadFile(gi); err == nil {
				for line := range strings.SplitSeq(string(b), "\n") {
					line = strings.TrimSuffix(line, "\r")
					if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
						patterns = append(patterns, gitignore.ParsePattern(line, parts))
					}
				}
			}
			return nil
		}
		if !d.Type().IsRegular() || gitignore.NewMatcher(patterns).Match(parts, false) {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > maxScanSize {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			skip(p, err)
			return nil
		}
		if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
			return nil // binary
		}
		ws.files++
		ws.hits = append(ws.hits, scanText(filepath.ToSlash(rel), b, 1)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("secret scan: %w", err)
	}
	return ws, nil
}

// isGitRepo reports whether root is in a git repository whose folder is a
// .git outside the workspace's own files, or its .git: a folder of the
// workspace laid out as a repository (HEAD, objects, refs and a config,
// which a pull request can add) is not one, so git never honours a config
// the workspace's files hold (log.showSignature with gpg.program, or
// core.fsmonitor, run the programs they name). git runs with env (nil:
// ferry's environment).
func isGitRepo(ctx context.Context, root string, env []string) bool {
	rev := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--absolute-git-dir")
	rev.Env = env
	out, err := rev.Output()
	if err != nil {
		return false
	}
	dir := strings.TrimSpace(string(out))
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	if rel, err := filepath.Rel(realRoot, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel == ".git"
	}
	return true
}

// errNotGit says that the workspace is not in a git repository.
var errNotGit = errors.New("not in a git repository")

// scanHistory returns the credentials in the lines that the commits
// reachable from any ref added under root, with the commit that added each.
// Paths are relative to root. It returns errNotGit when root is not in a git
// repository, and how many commits it read. git runs with environment env.
func scanHistory(ctx context.Context, root string, env []string) ([]secretHit, int, error) {
	if !isGitRepo(ctx, root, env) {
		return nil, 0, errNotGit
	}
	cmd := exec.CommandContext(ctx, "git", "-C", root, "log", "--all", "-p", "-U0", "--no-color", "--no-ext-diff",
		"--no-textconv", "--no-renames", "--relative", "--format=%x00%H", "--", ".")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("git log: %w", err)
	}
	hits, commits, perr := parseLog(out)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	if err := cmd.Wait(); err != nil && perr == nil {
		return nil, 0, fmt.Errorf("git log in %s: %v: %s", root, err, strings.TrimSpace(stderr.String()))
	}
	return hits, commits, perr
}

// parseLog scans the added lines of `git log -p -U0 --format=%x00%H`.
func parseLog(r io.Reader) ([]secretHit, int, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var (
		hits           []secretHit
		commit, file   string
		header         bool
		hunk           []byte
		start, commits int
	)
	flush := func() {
		if len(hunk) > 0 && file != "" {
			for _, h := range scanText(file, hunk, start) {
				h.Commit = commit
				hits = append(hits, h)
			}
		}
		hunk = hunk[:0]
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case line[0] == 0:
				flush()
				commit, commits = string(bytes.TrimSpace(line[1:])), commits+1
			case bytes.HasPrefix(line, []byte("diff --git ")):
				flush()
				header, file = true, ""
			case header && bytes.HasPrefix(line, []byte("+++ ")):
				name := string(bytes.TrimRight(line[4:], "\n"))
				file = ""
				if n, ok := strings.CutPrefix(name, "b/"); ok {
					file = n
				} else if u, err := strconv.Unquote(name); err == nil { // a name git quoted
					file = strings.TrimPrefix(u, "b/")
				}
			case bytes.HasPrefix(line, []byte("@@ ")):
				flush()
				header = false
				start = hunkStart(string(line))
			case !header && line[0] == '+':
				hunk = append(hunk, line[1:]...)
			}
		}
		if err == io.EOF {
			flush()
			return hits, commits, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// hunkStart returns the first new-file line of a hunk header
// "@@ -a,b +c,d @@".
func hunkStart(h string) int {
	_, rest, _ := strings.Cut(h, " +")
	num, _, _ := strings.Cut(rest, " ")
	num, _, _ = strings.Cut(num, ",")
	n, _ := strconv.Atoi(num)
	return n
}
