package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// A Label names a Starlark module: "//lib/go.star" in the workspace, or
// "@std//go.star" in another module repository.
type Label struct {
	Repo string // "" for the workspace
	Path string // slash path inside the repository, without leading slash
}

func (l Label) String() string {
	if l.Repo == "" {
		return "//" + l.Path
	}
	return "@" + l.Repo + "//" + l.Path
}

// ResolveLabel resolves spec, as written in a load() inside module from.
// Accepted forms are //path (root of the loading module's repository),
// ./path and ../path (relative to the loading file) and @repo//path.
func ResolveLabel(from Label, spec string) (Label, error) {
	var l Label
	switch {
	case strings.HasPrefix(spec, "@"):
		repo, p, ok := strings.Cut(spec[1:], "//")
		if !ok || repo == "" {
			return l, fmt.Errorf("load %q: want @repo//path/file.star", spec)
		}
		l = Label{Repo: repo, Path: p}
	case strings.HasPrefix(spec, "//"):
		l = Label{Repo: from.Repo, Path: spec[2:]}
	case strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../"):
		l = Label{Repo: from.Repo, Path: path.Join(path.Dir(from.Path), spec)}
	default:
		return l, fmt.Errorf("load %q: a module is named //path (workspace root), ./path or ../path (relative to this file) or @repo//path", spec)
	}
	l.Path = path.Clean(l.Path)
	if l.Path == ".." || strings.HasPrefix(l.Path, "../") || path.IsAbs(l.Path) {
		return l, fmt.Errorf("load %q: the path leaves the root of %s", spec, Label{Repo: l.Repo}.String())
	}
	if !strings.HasSuffix(l.Path, ".star") {
		return l, fmt.Errorf("load %q: module files end in .star", spec)
	}
	return l, nil
}

// A Module is the source of one Starlark module.
type Module struct {
	Label   Label
	Display string // file name shown in positions and messages
	File    string // absolute path on disk, or "" for embedded modules
	Src     []byte
}

// A ModuleSource supplies the modules of one repository. It is the seam where
// module repositories plug in: the workspace (DirSource) and the embedded
// standard library, @std (FSSource).
type ModuleSource interface {
	ReadModule(p string) (*Module, error)
}

// ErrModuleNotFound is wrapped by ModuleSource errors for missing modules.
var ErrModuleNotFound = errors.New("module not found")

// DirSource serves modules from a folder on disk, read through its Tree: a
// module that is a link is followed only when the link stays inside the
// folder.
type DirSource struct {
	Repo string
	Tree *Tree
}

// ReadModule reads the module at slash path p under the folder.
func (s DirSource) ReadModule(p string) (*Module, error) {
	file := s.Tree.Path(p)
	src, err := s.Tree.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrModuleNotFound, file)
	}
	if err != nil {
		return nil, err
	}
	display := p
	if s.Repo != "" {
		display = Label{Repo: s.Repo, Path: p}.String()
	}
	return &Module{Label: Label{Repo: s.Repo, Path: p}, Display: display, File: file, Src: src}, nil
}

// FSSource serves modules from an fs.FS, such as the embedded standard library.
type FSSource struct {
	Repo string
	FS   fs.FS
}

// ReadModule reads the module at slash path p from the file system.
func (s FSSource) ReadModule(p string) (*Module, error) {
	src, err := fs.ReadFile(s.FS, p)
	if errors.Is(err, fs.ErrNotExist) {
		var names []string
		entries, _ := fs.ReadDir(s.FS, ".")
		for _, e := range entries {
			names = append(names, "@"+s.Repo+"//"+e.Name())
		}
		return nil, fmt.Errorf("%w: @%s has no %s (it has %s)", ErrModuleNotFound, s.Repo, p, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	l := Label{Repo: s.Repo, Path: p}
	return &Module{Label: l, Display: l.String(), Src: src}, nil
}
