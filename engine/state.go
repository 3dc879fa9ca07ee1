package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// stateMagic starts every state file; the digest of the payload follows it,
// so a truncated or corrupt file is detected before it is decoded.
const stateMagic = "FERRYST4"

// FileSum is a file and the digest of its contents.
type FileSum struct {
	Path string
	Sum  Digest
}

// RuleState is what ferry remembers of a rule's last success.
type RuleState struct {
	Key    Digest
	Def    Digest
	Inputs []FileSum // sorted by path
	Deps   map[string]Digest
	// Secrets holds HMACs (under the workspace's secret key, never plain
	// hashes) of the values of the secrets the rule passed on.
	Secrets map[string]Digest
	Outputs []FileSum
	// Modules are the shared modules that declared the rule, and OwnDef
	// the digest of its definition without them (Def is that of both);
	// nil and zero for a rule that none declared, and in a state written
	// before ferry recorded them.
	Modules  []ModuleStamp
	OwnDef   Digest
	Finished time.Time
	Duration time.Duration
}

// State is ferry's memory of a workspace, kept in .ferry/state.
type State struct {
	mu     sync.Mutex
	saveMu sync.Mutex // one Save at a time: an older snapshot never replaces a newer one
	rules  map[string]*RuleState
	files  map[string]fileStat
	dirty  bool // rules changed since the last snapshot written
	// journal records each success durably until the next Save that
	// rewrites the state file; the saves between append to it.
	journal *journal
	// base is the size of the state file as loaded or last written, 0
	// when there is none: a save appends to the journal only when there
	// is a state file to fold it into.
	base int64
	// unjournaled is set when a success could not be journaled since the
	// state file was last written: only rewriting it keeps that success.
	unjournaled bool
}

// saveWhole reports whether a save rewrites the state file rather than
// append to a journal of journal bytes (state being the state file's size):
// once the journal holds more than a quarter of what the file does, reading
// it costs more than rewriting the file saves.
var saveWhole = func(journal, state int64) bool {
	return journal > max(64<<10, state/4)
}

type stateFile struct {
	Rules map[string]*RuleState
	Files map[string]fileStat
}

// Rule returns the last success of the named rule, or nil.
func (s *State) Rule(name string) *RuleState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rules[name]
}

// SetRule records a success, durably in the journal when the state has
// one; an error says that only the next Save will keep it.
func (s *State) SetRule(name string, rs *RuleState) error {
	s.mu.Lock()
	s.dirty = true
	s.rules[name] = rs
	s.unjournaled = s.unjournaled || s.journal == nil
	s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	err := s.journal.append(name, rs)
	if err != nil {
		s.mu.Lock()
		s.unjournaled = true
		s.mu.Unlock()
	}
	return err
}

func statePath(ws *Workspace) string { return filepath.Join(ws.Root, StateDir, "state") }

// ErrCorruptState is wrapped by LoadState when the state file cannot be read
// back; the returned State is then empty and usable.
var ErrCorruptState = errors.New("state file is corrupt")

// LoadState reads the workspace's state, with the successes its journal
// recorded since the last save. A missing file gives an empty state; a
// corrupt one gives an empty state and an error wrapping ErrCorruptState.
// With keep set (commands that write state), the corrupt file is moved
// aside to state.corrupt for inspection, and the temporary files of saves
// that a killed ferry left behind are removed (keep means the workspace
// lock is held, so no other ferry is saving).
func LoadState(ws *Workspace, keep bool) (*State, error) {
	s, err := loadStateFile(ws, keep)
	if keep {
		removeLeftoverTemps(ws)
	}
	if ferr := checkStateFolder(ws.Path(StateDir)); ferr != nil && !errors.Is(ferr, fs.ErrNotExist) {
		// Not a folder of ferry's: read no journal through it.
		return s, err
	}
	j, recs, jerr := readJournal(ws)
	s.journal = j
	for i, rs := range recs.states {
		if old := s.rules[recs.names[i]]; old == nil || !rs.Finished.Before(old.Finished) {
			s.rules[recs.names[i]] = rs
		}
	}
	maps.Copy(s.files, recs.files)
	// The journal is folded into the state file by the next save when
	// there is no file to append to, when a save did not finish, or when
	// it has grown too long.
	if len(recs.names)+len(recs.files) > 0 && (s.base == 0 || recs.old || saveWhole(j.good, s.base)) {
		s.dirty = true
	}
	return s, errors.Join(err, jerr)
}

// removeLeftoverTemps removes the temporary files that WriteFileAtomic
// made for the state file and that a ferry killed while saving left in
// the state folder. The caller holds the workspace lock.
func removeLeftoverTemps(ws *Workspace) {
	left, _ := filepath.Glob(statePath(ws) + ".tmp*")
	for _, p := range left {
		os.Remove(p)
	}
}

func loadStateFile(ws *Workspace, keep bool) (*State, error) {
	s := &State{rules: map[string]*RuleState{}, files: map[string]fileStat{}}
	p := statePath(ws)
	data, err := readStateFile(ws)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case errors.Is(err, errStateTooLarge):
		return s, fmt.Errorf("%w: planning as if nothing ran, so every rule runs once; the next run replaces it", err)
	case err != nil:
		return s, err
	}
	if format := string(data[:min(len(data), len(stateMagic))]); format != stateMagic && strings.HasPrefix(format, stateMagic[:len(stateMagic)-1]) {
		return s, fmt.Errorf("%s was written by another version of ferry (format %s, this one reads %s): every rule runs once, and the next run replaces it", p, format, stateMagic)
	}
	var sf stateFile
	if err := decodeState(data, &sf); err != nil {
		if !keep {
			return s, fmt.Errorf("%w (%s): planning as if nothing ran; the next run rebuilds it", ErrCorruptState, err)
		}
		os.Rename(p, p+".corrupt")
		return s, fmt.Errorf("%w (%s): moved it to %s.corrupt and starting afresh, so every rule runs once", ErrCorruptState, err, p)
	}
	if sf.Rules != nil {
		s.rules = sf.Rules
	}
	if sf.Files != nil {
		s.files = sf.Files
	}
	s.base = int64(len(data))
	return s, nil
}

func decodeState(data []byte, sf *stateFile) error {
	head := len(stateMagic) + len(Digest{})
	if len(data) < head || string(data[:len(stateMagic)]) != stateMagic {
		return errors.New("bad header")
	}
	payload := data[head:]
	if HashBytes(payload) != Digest(data[len(stateMagic):head]) {
		return errors.New("checksum mismatch: the file was truncated or changed")
	}
	return decodeStatePayload(payload, sf)
}

// Save writes the state and the file index's stat cache. When neither
// changed since they were last saved, it writes nothing. When the state
// file is there, the successes since are in the journal and the journal is
// short, it appends the stat cache entries that changed to the journal;
// otherwise it rewrites the state file atomically and empties the journal.
// Either way, what it saved is durable when it returns. It is safe to call
// while rules run: what changes after its snapshot is written next time.
func (s *State) Save(ws *Workspace, ix *FileIndex) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	ix.mu.Lock()
	ixDirty := ix.dirty
	ix.mu.Unlock()
	s.mu.Lock()
	if !s.dirty && !ixDirty {
		s.mu.Unlock()
		return nil
	}
	if _, err := ws.StateFolder(); err != nil {
		s.mu.Unlock()
		return err
	}
	if changed := s.changedFiles(ix); changed != nil {
		s.mu.Unlock()
		err := s.journal.appendFiles(changed, s.base)
		if err == nil {
			return nil
		}
		// Rewrite the state file instead.
		s.mu.Lock()
		ix.mu.Lock()
		ix.dirty = true
		ix.mu.Unlock()
		s.dirty = true
	}
	s.journal.rotate()
	// Keep the stat cache to the files some rule's last success refers to,
	// encoded straight from the index, after room for the header.
	ix.mu.Lock()
	var paths []string
	for _, rs := range s.rules {
		for _, list := range [][]FileSum{rs.Inputs, rs.Outputs} {
			for _, f := range list {
				if _, ok := ix.entries[f.Path]; ok {
					paths = append(paths, f.Path)
				}
			}
		}
	}
	sort.Strings(paths)
	paths = slices.Compact(paths)
	head := len(stateMagic) + len(Digest{})
	data := make([]byte, head, head+64+120*len(paths)+128*len(s.rules))
	copy(data, stateMagic)
	data = appendState(data, s.rules, paths, func(p string) fileStat { return ix.entries[p] })
	ix.dirty = false
	ix.changed, ix.untracked = nil, false
	ix.mu.Unlock()
	s.dirty = false
	s.unjournaled = false
	s.mu.Unlock()
	sum := HashBytes(data[head:])
	copy(data[len(stateMagic):], sum[:])
	if err := writeStateFile(ws, data); err != nil {
		// Not written: try again next time, the whole state again.
		s.mu.Lock()
		s.dirty = true
		ix.mu.Lock()
		ix.untracked = true
		ix.mu.Unlock()
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.base = int64(len(data))
	s.mu.Unlock()
	s.journal.saved()
	return nil
}

// changedFiles returns the stat cache entries that changed since the last
// save, and marks them saved, when appending them to the journal saves all
// that changed: there is a state file to fold the journal into, every
// success since it was written is in the journal, no save is unfinished,
// the index knows each entry that changed and none was removed, and the
// journal is short enough (see saveWhole). Otherwise it returns nil and
// changes nothing. s.mu is held.
func (s *State) changedFiles(ix *FileIndex) map[string]fileStat {
	if s.base == 0 || s.journal == nil || s.unjournaled {
		return nil
	}
	if _, err := os.Lstat(s.journal.old()); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	s.journal.mu.Lock()
	full := saveWhole(s.journal.good, s.base)
	s.journal.mu.Unlock()
	if full {
		return nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.untracked {
		return nil
	}
	changed := make(map[string]fileStat, len(ix.changed))
	for p := range ix.changed {
		changed[p] = ix.entries[p]
	}
	ix.changed = nil
	ix.dirty = false
	s.dirty = false
	return changed
}

// Files returns the stat cache loaded with the state.
func (s *State) Files() map[string]fileStat { return s.files }

// WriteFileAtomic writes data to path through a temporary file that is
// synced and renamed into place, so readers see the old or the new file,
// never a part. A symbolic link at path is replaced, never followed.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := createTemp(dir, filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
