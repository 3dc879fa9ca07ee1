//go:build unix

package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A run that finds nothing to do leaves a no-op record, .ferry/noop-*, so
// that the next run asked the same thing can say so without evaluating
// ferry.star, building the graph or loading the state: it checks, with one
// lstat each, that nothing the evaluation read (every file, every folder a
// glob looked at, every environment variable) and none of the selected
// rules' inputs and outputs changed, that the state is the one the record
// was written with, and that the command (ferry's executable and version,
// rule names, config flags, profiles, the plugins' settings) is the same.
// Anything else runs as before and writes a new record.
//
// A record is written only when every selected rule's verdict rests on its
// files alone: no rule that asks Docker, reads a secret, serves, prepares
// or never caches, no input that is a folder, an evaluation that called
// only builtins marked Reusable (no print, no time.now), and no file whose
// times are too recent to trust (see racyWindow).

// noopMagic starts the record; it changes with the record's format.
const noopMagic = "FERRYNO2"

// maxNoop bounds what is read of a record.
const maxNoop = 64 << 20

// noopPath is the record of the runs asked command: each command line (rule
// names, flags, main file) has its own, so that two that alternate both
// keep theirs.
func noopPath(ws *Workspace, command Digest) string {
	return filepath.Join(ws.Root, StateDir, "noop-"+command.Short())
}

// maxNoopRecords bounds the records kept: writing one removes the oldest
// beyond it.
const maxNoopRecords = 8

// noopStat is what a no-op record holds of one path: its identity when it
// was recorded, or that it did not exist.
type noopStat struct {
	path    string // absolute
	missing bool
	st      fileStat // Size, Mtime, Ctime and Ino
}

// noopRecord is the content of .ferry/noop.
type noopRecord struct {
	command Digest // see Session.noopCommand
	state   Digest // the checksum of the state file it goes with
	env     []noopEnv
	rules   []string // the selected rules, in run order
	// stats holds the encoded noopStat of every path, one after the
	// other: a record of 100,000 files is checked as it is read.
	stats []byte
}

// addStat appends the encoding of e to r.stats.
func (r *noopRecord) addStat(e noopStat) {
	b := binary.AppendUvarint(r.stats, uint64(len(e.path)))
	b = append(b, e.path...)
	b = binary.AppendUvarint(b, boolNum(e.missing))
	b = binary.AppendUvarint(b, uint64(e.st.Size))
	b = binary.AppendUvarint(b, uint64(e.st.Mtime))
	b = binary.AppendUvarint(b, uint64(e.st.Ctime))
	r.stats = binary.AppendUvarint(b, e.st.Ino)
}

// noopEnv is an environment variable evaluation read: whether it was set,
// and the digest of its value (the value itself may be sensitive).
type noopEnv struct {
	name string
	sum  Digest
	set  bool
}

// envSum is what a no-op record keeps of the value of variable name.
func envSum(name, value string) Digest {
	return NewHasher().String("ferry-noop-env").String(name).String(value).Sum()
}

// noopCommand digests what a run is asked: the session's settings, the
// names and flags, and ferry's executable, so that a rebuilt ferry does not
// trust the record of another.
func (s *Session) noopCommand(names []string, flags map[string]string) Digest {
	h := NewHasher().String("ferry-noop-v1").String(s.opts.Config).String(s.Workspace.Root).String(s.Workspace.File).String(s.Project)
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			h.String(exe).String(fmt.Sprint(fi.Size(), fi.ModTime().UnixNano()))
			if st, err := lstatPath(exe); err == nil {
				h.String(fmt.Sprint(st.Ino, st.Ctime))
			}
		}
	}
	h.String(fmt.Sprint(len(names)))
	for _, n := range names {
		h.String(n)
	}
	h.String(fmt.Sprint(len(s.opts.Profiles)))
	for _, p := range s.opts.Profiles {
		h.String(p)
	}
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h.String(fmt.Sprint(len(keys)))
	for _, k := range keys {
		h.String(k).String(flags[k])
	}
	return h.Sum()
}

// stateSum returns what identifies the workspace's state: the checksum in
// the header of its state file, with the journal's bytes when there is a
// journal (saves since the file was written appended to it). A save that
// did not finish (journal.old) is an error.
func stateSum(ws *Workspace) (Digest, error) {
	if err := checkStateFolder(ws.Path(StateDir)); err != nil {
		return Digest{}, err
	}
	f, err := openNoFollow(statePath(ws), os.O_RDONLY, 0)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	head := make([]byte, len(stateMagic)+len(Digest{}))
	if _, err := io.ReadFull(f, head); err != nil {
		return Digest{}, err
	}
	if string(head[:len(stateMagic)]) != stateMagic {
		return Digest{}, errors.New("bad state header")
	}
	sum := Digest(head[len(stateMagic):])
	if _, err := os.Lstat(journalPath(ws) + ".old"); !errors.Is(err, fs.ErrNotExist) {
		return Digest{}, errors.New("a save of the state did not finish")
	}
	journal, err := readJournalBytes(journalPath(ws))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sum, nil
	case err != nil:
		return Digest{}, err
	}
	return NewHasher().String("ferry-state-journal").Digest(sum).Digest(HashBytes(journal)).Sum(), nil
}

// UpToDate reports, from the no-op record, that a run of names with flags
// would run nothing; it then reports that run on the session's bus as Run
// would (every rule up to date) and returns its summary. It evaluates
// nothing. When it cannot tell, it returns false and the caller loads and
// runs as usual. force (RunOptions.Force) never trusts the record.
func (s *Session) UpToDate(ctx context.Context, names []string, flags map[string]string, force bool) (*Summary, bool) {
	if force {
		return nil, false
	}
	start := time.Now()
	command := s.noopCommand(names, flags)
	data, err := readCapped(noopPath(s.Workspace, command), maxNoop)
	if err != nil {
		return nil, false
	}
	rec, err := decodeNoop(data)
	if err != nil || rec.command != command {
		return nil, false
	}
	lock, err := AcquireLock(ctx, s.Workspace, func(pid int) {
		s.Events.Logf(LevelWarn, "waiting for another ferry (pid %d) that holds the workspace lock in %s/.ferry", pid, s.Workspace.Root)
	})
	if err != nil {
		return nil, false
	}
	defer lock.Release()
	if sum, err := stateSum(s.Workspace); err != nil || sum != rec.state {
		return nil, false
	}
	for _, e := range rec.env {
		if v, ok := os.LookupEnv(e.name); ok != e.set || envSum(e.name, v) != e.sum {
			return nil, false
		}
	}
	if !statsUnchanged(rec.stats) {
		// A file the last run depended on changed: this run will most
		// likely start commands, so the supervisor they run under starts
		// now, beside the evaluation, rather than on the way of the
		// first command. An error is reported when a command starts.
		go theSupervisor()
		return nil, false
	}
	jobs := s.opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	s.Events.Emit(Event{Kind: EventRunStart, Text: fmt.Sprintf("%d rules selected, %d at a time", len(rec.rules), jobs)})
	for _, n := range rec.rules {
		s.Events.Emit(Event{Kind: EventCached, Rule: n})
	}
	sum := &Summary{Cached: rec.rules, Duration: time.Since(start)}
	s.Events.Emit(Event{Kind: EventRunDone, Summary: sum, Duration: sum.Duration})
	return sum, true
}

// statsUnchanged reports whether every path of the encoded stats is as
// recorded. The paths are checked by one goroutine per CPU, in batches, as
// they are decoded; the first change or error stops them all.
func statsUnchanged(b []byte) bool {
	const batch = 256
	var changed atomic.Bool
	work := make(chan []noopStat, runtime.NumCPU())
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for list := range work {
				if !changed.Load() && !unchanged(list) {
					changed.Store(true)
				}
			}
		}()
	}
	r := &stateReader{buf: b}
	list := make([]noopStat, 0, batch)
	for len(r.buf) > 0 && r.err == nil && !changed.Load() {
		e := noopStat{path: r.str(), missing: r.uint() == 1}
		e.st.Size, e.st.Mtime, e.st.Ctime, e.st.Ino = int64(r.uint()), int64(r.uint()), int64(r.uint()), r.uint()
		if r.err != nil {
			break
		}
		if list = append(list, e); len(list) == batch {
			work <- list
			list = make([]noopStat, 0, batch)
		}
	}
	work <- list
	close(work)
	wg.Wait()
	return r.err == nil && !changed.Load()
}

// unchanged reports whether every path of list is as recorded.
func unchanged(list []noopStat) bool {
	for _, e := range list {
		st, err := lstatPath(e.path)
		if e.missing {
			if !errors.Is(err, fs.ErrNotExist) {
				return false
			}
			continue
		}
		if err != nil || st.Size != e.st.Size || st.Mtime != e.st.Mtime || st.Ctime != e.st.Ctime || st.Ino != e.st.Ino {
			return false
		}
	}
	return true
}

// writeNoop writes the no-op record of a run of names that just succeeded
// on the graph of l with engine e (nil: it failed), when every verdict of it
// can be checked by lstat alone (see the top of this file); otherwise it
// removes any record, which no longer holds.
func (l *Loaded) writeNoop(ctx context.Context, e *Engine, names []string) {
	ws := l.Session.Workspace
	p := noopPath(ws, l.Session.noopCommand(names, l.flags))
	var rec *noopRecord
	ok := false
	if e != nil {
		rec, ok = l.noopRecord(ctx, e, names, l.flags)
	}
	if !ok {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.Session.Events.Logf(LevelWarn, "could not remove %s (%v): remove it, or a run may skip a change", p, err)
		}
		return
	}
	if err := WriteFileAtomic(p, encodeNoop(rec), 0o600); err != nil {
		os.Remove(p)
		return
	}
	pruneNoop(ws)
}

// pruneNoop removes the oldest records beyond maxNoopRecords.
func pruneNoop(ws *Workspace) {
	entries, err := os.ReadDir(ws.Path(StateDir))
	if err != nil {
		return
	}
	type rec struct {
		name string
		mod  time.Time
	}
	var recs []rec
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "noop-") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			recs = append(recs, rec{e.Name(), fi.ModTime()})
		}
	}
	if len(recs) <= maxNoopRecords {
		return
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].mod.After(recs[j].mod) })
	for _, r := range recs[maxNoopRecords:] {
		os.Remove(filepath.Join(ws.Path(StateDir), r.name))
	}
}

func (l *Loaded) noopRecord(ctx context.Context, e *Engine, names []string, flags map[string]string) (*noopRecord, bool) {
	s, res := l.Session, l.Result
	if res.Eval.unreusable() != "" || s.opts.Config == "" {
		return nil, false
	}
	sel, err := l.Graph.Select(names)
	if err != nil {
		return nil, false
	}
	rec := &noopRecord{command: s.noopCommand(names, flags), rules: sel}
	// What evaluation read, stat-ed now: a file changed since evaluation
	// began has a newer ctime, and is not trusted.
	trust := l.evalStart.Add(-racyWindow).UnixNano()
	paths := append(slices.Clone(res.Files), res.Eval.lookedUp()...)
	sort.Strings(paths)
	paths = slices.Compact(paths)
	for _, p := range paths {
		st, err := lstatPath(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rec.addStat(noopStat{path: p, missing: true})
			continue
		case err != nil:
			return nil, false
		}
		if st.Mtime >= trust || st.Ctime >= trust {
			return nil, false
		}
		rec.addStat(noopStat{path: p, st: st})
	}
	for _, name := range slices.Sorted(maps.Keys(res.Env)) {
		v, set := os.LookupEnv(name)
		if v != res.Env[name] {
			return nil, false
		}
		rec.env = append(rec.env, noopEnv{name: name, sum: envSum(name, v), set: set})
	}
	// The rules' inputs and outputs, as the stat cache has them: the
	// identity they had when they were hashed.
	e.Index.mu.Lock()
	defer e.Index.mu.Unlock()
	for _, n := range sel {
		r := l.Graph.Rule(n)
		info := r.Info()
		if info.NoCache || info.Serve {
			return nil, false
		}
		if _, ok := r.(Observer); ok {
			return nil, false
		}
		if _, ok := r.(Preparer); ok {
			return nil, false
		}
		if u, ok := r.(SecretUser); ok && len(u.Secrets()) > 0 {
			return nil, false
		}
		prev := e.State.Rule(n)
		if prev == nil {
			return nil, false
		}
		inputs, err := r.Inputs(ctx)
		if err != nil || len(inputs) != len(prev.Inputs) {
			return nil, false // a folder among the inputs, or a run that did not hash them
		}
		sorted := slices.Sorted(slices.Values(inputs))
		for i, f := range prev.Inputs {
			if sorted[i] != f.Path {
				return nil, false
			}
		}
		for _, list := range [][]FileSum{prev.Inputs, prev.Outputs} {
			for _, f := range list {
				c, ok := e.Index.entries[f.Path]
				if !ok || c.Racy || c.Sum != f.Sum {
					return nil, false
				}
				rec.addStat(noopStat{path: s.Workspace.Path(f.Path), st: c})
			}
		}
		if len(prev.Outputs) != len(r.Outputs()) {
			return nil, false
		}
	}
	sum, err := stateSum(s.Workspace)
	if err != nil {
		return nil, false
	}
	rec.state = sum
	return rec, true
}

func encodeNoop(r *noopRecord) []byte {
	b := []byte(noopMagic)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	num := func(n uint64) { b = binary.AppendUvarint(b, n) }
	b = append(b, r.command[:]...)
	b = append(b, r.state[:]...)
	num(uint64(len(r.env)))
	for _, e := range r.env {
		str(e.name)
		b = append(b, e.sum[:]...)
		num(boolNum(e.set))
	}
	num(uint64(len(r.rules)))
	for _, n := range r.rules {
		str(n)
	}
	b = append(b, r.stats...) // the rest
	sum := HashBytes(b)
	return append(b, sum[:]...)
}

func boolNum(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

var errBadNoop = errors.New("bad no-op record")

func decodeNoop(data []byte) (*noopRecord, error) {
	if len(data) < len(noopMagic)+3*len(Digest{}) || string(data[:len(noopMagic)]) != noopMagic {
		return nil, errBadNoop
	}
	body, sum := data[:len(data)-len(Digest{})], data[len(data)-len(Digest{}):]
	if HashBytes(body) != Digest(sum) {
		return nil, errBadNoop
	}
	d := &stateReader{buf: body[len(noopMagic):]}
	r := &noopRecord{command: d.digest(), state: d.digest()}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		e := noopEnv{name: d.str(), sum: d.digest()}
		e.set = d.uint() == 1
		r.env = append(r.env, e)
	}
	n := d.count()
	r.rules = make([]string, 0, n)
	for ; n > 0 && d.err == nil; n-- {
		r.rules = append(r.rules, d.str())
	}
	if d.err != nil {
		return nil, errBadNoop
	}
	r.stats = d.buf
	return r, nil
}
