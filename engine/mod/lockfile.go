package mod

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// A Lock is a parsed ferry.lock: one line per module of the graph, sorted
// by alias, so that two branches that change different modules merge
// without conflict.
type Lock struct {
	Path    string
	Modules map[string]*Locked // by alias
}

// A Locked module is one line of ferry.lock.
type Locked struct {
	Alias   string
	Repo    string
	Version string // as required: a tag or a commit
	Commit  string // the commit the version resolved to
	Hash    string // hash of the module's file tree (see hashTree)
	// Perms are the permissions the module declares and the workspace
	// granted, sorted: a change shows in the lock file's diff.
	Perms []string
}

const lockHeader = `# ferry.lock: the shared modules of ferry.mod, pinned. Written by ferry mod; commit it.
# alias repository version commit tree-hash [perms=granted,permissions]
`

// ReadLock reads the ferry.lock at path; a missing file is an empty lock.
func ReadLock(path, display string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &Lock{Path: display, Modules: map[string]*Locked{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseLock(display, data)
}

// ParseLock parses the text of a ferry.lock.
func ParseLock(display string, data []byte) (*Lock, error) {
	l := &Lock{Path: display, Modules: map[string]*Locked{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		for _, m := range []string{"<<<<<<<", "=======", ">>>>>>>", "|||||||"} {
			if strings.HasPrefix(line, m) {
				return nil, fmt.Errorf("%s:%d: merge-conflict marker %q: ferry.lock was merged with conflicts; delete the markers and the lines between them, then run `ferry mod tidy` to pin the modules of ferry.mod again", display, n, m)
			}
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		perms, hasPerms := "", len(f) == 6
		if hasPerms {
			perms, hasPerms = strings.CutPrefix(f[5], "perms=")
		}
		if len(f) != 5 && !hasPerms || !strings.HasPrefix(f[4], "h1:") || !IsCommit(f[3]) {
			return nil, fmt.Errorf("%s:%d: want \"alias repository version commit h1:hash [perms=a,b]\", got %q; run `ferry mod tidy` to write ferry.lock again", display, n, line)
		}
		if _, dup := l.Modules[f[0]]; dup {
			return nil, fmt.Errorf("%s:%d: module %s is pinned twice; run `ferry mod tidy`", display, n, f[0])
		}
		m := &Locked{Alias: f[0], Repo: f[1], Version: f[2], Commit: f[3], Hash: f[4]}
		if perms != "" {
			m.Perms = strings.Split(perms, ",")
		}
		l.Modules[f[0]] = m
	}
	return l, sc.Err()
}

// Format returns the text of the lock file: stable, sorted, one line per
// module.
func (l *Lock) Format() []byte {
	var b bytes.Buffer
	b.WriteString(lockHeader)
	for _, a := range slices.Sorted(maps.Keys(l.Modules)) {
		m := l.Modules[a]
		fmt.Fprintf(&b, "%s %s %s %s %s", m.Alias, m.Repo, m.Version, m.Commit, m.Hash)
		if len(m.Perms) > 0 {
			fmt.Fprintf(&b, " perms=%s", strings.Join(m.Perms, ","))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// Equal reports whether two locks pin the same modules.
func (l *Lock) Equal(o *Lock) bool { return bytes.Equal(l.Format(), o.Format()) }
