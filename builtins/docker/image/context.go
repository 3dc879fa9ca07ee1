package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// dockerignore is the name of the file that lists what a build context
// leaves out.
const dockerignore = ".dockerignore"

// outsideDockerfile is the name under which a Dockerfile kept outside its
// context travels in the context stream.
const outsideDockerfile = ".ferry.Dockerfile"

// An entry is one file, folder or symlink of a build context.
type entry struct {
	name string      // context-relative slash path, the name in the tar
	ws   string      // workspace-relative slash path
	mode fs.FileMode // type bits only
}

// buildContext is the context of an image, as the Docker CLI would send it.
type buildContext struct {
	entries    []entry
	dockerfile string // the Dockerfile's name in the context
}

// ignorePatterns cleans patterns the way .dockerignore lines are cleaned.
func ignorePatterns(patterns []string) ([]string, error) {
	return ignorefile.ReadAll(strings.NewReader(strings.Join(patterns, "\n")))
}

// checkContext reports a context that is missing, not a folder, or behind
// a link out of the workspace.
func (i *Image) checkContext(ws *engine.Workspace) error {
	fi, err := ws.Tree().Stat(i.context)
	var le *engine.LinkError
	switch {
	case errors.As(err, &le):
		return fmt.Errorf("context folder (image declared at %s): %w", i.info.Pos, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("context folder %s does not exist (image declared at %s); create it, or fix context =", i.context, i.info.Pos)
	case err != nil:
		return fmt.Errorf("context folder %s: %w", i.context, err)
	case !fi.IsDir():
		return fmt.Errorf("context %s is a file, not a folder (image declared at %s); fix context =", i.context, i.info.Pos)
	}
	return nil
}

// readContext walks the context folder of i, leaving out what .dockerignore
// and ignore= exclude, but keeping the Dockerfile and .dockerignore, which
// the Docker CLI always sends. It reads no file contents besides
// .dockerignore's. It walks through the workspace's Tree: a link is an
// entry of its own, and a linked folder is never entered.
func (i *Image) readContext(ctx context.Context, ws *engine.Workspace) (*buildContext, error) {
	if err := i.checkContext(ws); err != nil {
		return nil, err
	}
	patterns, err := i.contextIgnores(ws)
	if err != nil {
		return nil, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", i.context, dockerignore, err)
	}
	bc := &buildContext{dockerfile: outsideDockerfile}
	if rel, ok := within(i.context, i.dockerfile); ok {
		bc.dockerfile = rel
	}
	always := map[string]bool{dockerignore: true, bc.dockerfile: true}
	infos := map[string]patternmatcher.MatchInfo{}
	root := i.context
	if root == "" {
		root = "."
	}
	err = fs.WalkDir(ws.Tree().FS(), root, func(wsPath string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if wsPath == root {
			return nil
		}
		name, _ := within(i.context, wsPath)
		if d.IsDir() && wsPath == engine.StateDir {
			return fs.SkipDir
		}
		skip, info, err := pm.MatchesUsingParentResults(name, infos[path.Dir(name)])
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := ctx.Err(); err != nil {
				return err
			}
			infos[name] = info
		}
		if skip && !always[name] {
			if d.IsDir() && !mayKeepInside(pm, name) {
				return fs.SkipDir
			}
			return nil
		}
		if t := d.Type(); t.IsRegular() || t.IsDir() || t&fs.ModeSymlink != 0 {
			bc.entries = append(bc.entries, entry{name: name, ws: wsPath, mode: t.Type()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read context %s: %w", i.context, err)
	}
	if bc.dockerfile == outsideDockerfile {
		bc.entries = append(bc.entries, entry{name: outsideDockerfile, ws: i.dockerfile})
	} else if !bc.has(bc.dockerfile) {
		// Excluded by a pattern on a parent folder: send it all the same.
		bc.entries = append(bc.entries, entry{name: bc.dockerfile, ws: i.dockerfile})
	}
	return bc, nil
}

func (bc *buildContext) has(name string) bool {
	for _, e := range bc.entries {
		if e.name == name {
			return true
		}
	}
	return false
}

// contextIgnores returns the patterns of the context's .dockerignore
// followed by those of ignore=.
func (i *Image) contextIgnores(ws *engine.Workspace) ([]string, error) {
	f, err := ws.Tree().Open(path.Join(i.context, dockerignore))
	if errors.Is(err, fs.ErrNotExist) {
		return i.ignore, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image declared at %s: %w", i.info.Pos, err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", i.context, dockerignore, err)
	}
	return append(patterns, i.ignore...), nil
}

// mayKeepInside reports whether an exception pattern (!pattern) may bring
// back something inside the excluded folder dir, as the Docker CLI decides.
func mayKeepInside(pm *patternmatcher.PatternMatcher, dir string) bool {
	if !pm.Exclusions() {
		return false
	}
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// within returns file's path relative to dir, if file is inside dir.
func within(dir, file string) (string, bool) {
	if dir == "" || dir == "." {
		return file, true
	}
	rel, ok := strings.CutPrefix(file, dir+"/")
	return rel, ok && rel != ""
}

// inputs returns the workspace-relative files and links of the context,
// the Dockerfile included. A link travels as a link, so it is keyed by its
// target string, whatever it points to.
func (bc *buildContext) inputs() []string {
	var out []string
	for _, e := range bc.entries {
		if !e.mode.IsDir() {
			out = append(out, e.ws)
		}
	}
	return out
}

// writeTar writes the context as a tar stream to w, with the Dockerfile's
// contents replaced by dockerfile. Files are owned by root, as the Docker
// CLI sends them. With a Matcher, each file's contents pass through a
// Guard: a file that holds a secret's value stops the stream, before any
// byte of the value is written, with a *secretContentError.
func (bc *buildContext) writeTar(ctx context.Context, w io.Writer, ws *engine.Workspace, dockerfile []byte, m *redact.Matcher) error {
	tw := tar.NewWriter(w)
	var contents io.Writer = tw
	if m != nil {
		contents = m.Guard(tw)
	}
	for _, e := range bc.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.name == bc.dockerfile {
			hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if err := copyContents(contents, bytes.NewReader(dockerfile)); err != nil {
				return contentError(e.ws, err)
			}
			continue
		}
		if err := writeEntry(tw, contents, ws.Tree(), e.ws, e.name); err != nil {
			return contentError(e.ws, fmt.Errorf("context file %s: %w", e.ws, err))
		}
	}
	return tw.Close()
}

// copyContents copies r to w, the tar writer or a Guard in front of it,
// which it flushes.
func copyContents(w io.Writer, r io.Reader) error {
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	if g, ok := w.(*redact.Guard); ok {
		return g.Flush()
	}
	return nil
}

// writeEntry writes the header of the workspace file rel to tw, and its
// contents to contents: tw, or a Guard in front of it. A link is written as
// a link; a file replaced by a link since the walk is an error.
func writeEntry(tw *tar.Writer, contents io.Writer, tree *engine.Tree, rel, name string) error {
	fi, err := tree.Lstat(rel)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = tree.Readlink(rel); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := tree.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	if opened, err := f.Stat(); err != nil || !os.SameFile(fi, opened) {
		return fmt.Errorf("it changed while ferry read it; run again")
	}
	// A file that grew since it was stat-ed must not overflow its header.
	return copyContents(contents, io.LimitReader(f, hdr.Size))
}
