package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Saves running while rules record their successes never lose one: what a
// save's snapshot missed, the next save writes.
func TestSaveWhileRulesFinish(t *testing.T) {
	dir := t.TempDir()
	ws := &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
	st, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	ix := NewFileIndex(dir, nil)
	const rules = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := st.Save(ws, ix); err != nil {
				t.Error(err)
			}
		}
	}()
	for i := range rules {
		st.SetRule(fmt.Sprintf("r%d", i), &RuleState{Key: HashBytes([]byte(fmt.Sprint(i)))})
	}
	close(done)
	wg.Wait()
	// The last save, as a run ends with: nothing may be left unwritten.
	if err := st.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	again, err := LoadState(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rules {
		if again.Rule(fmt.Sprintf("r%d", i)) == nil {
			t.Fatalf("rule r%d was recorded but not saved", i)
		}
	}
}

// benchState is the state of the bench's workspace: 500 rules of 20
// inputs and one output each, and the stat cache of those files.
func benchState() *stateFile {
	sf := &stateFile{Rules: map[string]*RuleState{}, Files: map[string]fileStat{}}
	for c := range 50 {
		for t := range 10 {
			name := fmt.Sprintf("c%02d_t%d", c, t)
			rs := &RuleState{Key: HashBytes([]byte(name)), Deps: map[string]Digest{}}
			for f := range 20 {
				p := fmt.Sprintf("c%02d/t%d/%02d.txt", c, t, f)
				rs.Inputs = append(rs.Inputs, FileSum{Path: p, Sum: HashBytes([]byte(p))})
				sf.Files[p] = fileStat{Size: 280, Mtime: int64(f), Ctime: int64(f), Ino: uint64(f), Sum: HashBytes([]byte(p))}
			}
			out := "out/" + name
			rs.Outputs = []FileSum{{Path: out, Sum: HashBytes([]byte(out))}}
			if t > 0 {
				rs.Deps[fmt.Sprintf("c%02d_t%d", c, t-1)] = rs.Key
			}
			sf.Rules[name] = rs
		}
	}
	return sf
}

// BenchmarkDecodeState decodes the state a one-file run of the bench
// loads.
func BenchmarkDecodeState(b *testing.B) {
	payload := encodeState(benchState())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		var sf stateFile
		if err := decodeStatePayload(payload, &sf); err != nil {
			b.Fatal(err)
		}
	}
}

// wholeSaves makes every save of the test rewrite the state file.
func wholeSaves(t *testing.T) {
	old := saveWhole
	saveWhole = func(int64, int64) bool { return true }
	t.Cleanup(func() { saveWhole = old })
}

// savedWorkspace returns a workspace with a state file of one rule whose
// input is a.txt, and the state and index loaded from it.
func savedWorkspace(t *testing.T) (*Workspace, *State, *FileIndex) {
	t.Helper()
	ws := journalWorkspace(t)
	writeFiles(t, ws.Root, map[string]string{"a.txt": "a"})
	st := loadState(t, ws)
	ix := NewFileIndex(ws.Root, st.Files())
	sum, err := ix.Hash("a.txt")
	if err != nil {
		t.Fatal(err)
	}
	st.SetRule("a", &RuleState{Key: Digest{1}, Inputs: []FileSum{{Path: "a.txt", Sum: sum}}, Finished: time.Now()})
	if err := st.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	st = loadState(t, ws)
	return ws, st, NewFileIndex(ws.Root, st.Files())
}

// A save after a small change appends to the journal, leaving the state
// file as it was, and what it saved is there when the state is loaded
// again; once the journal is due, a save folds it into the state file.
func TestSaveAppendsToJournal(t *testing.T) {
	ws, st, ix := savedWorkspace(t)
	before, err := os.ReadFile(statePath(ws))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws.Root, map[string]string{"b.txt": "b"})
	sum, err := ix.Hash("b.txt")
	if err != nil {
		t.Fatal(err)
	}
	st.SetRule("b", &RuleState{Key: Digest{2}, Inputs: []FileSum{{Path: "b.txt", Sum: sum}}, Finished: time.Now()})
	if err := st.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	if after, err := os.ReadFile(statePath(ws)); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("the state file was rewritten (%v) by a save of one rule", err)
	}
	if _, err := os.Stat(journalPath(ws)); err != nil {
		t.Fatalf("journal after an appending save: %v", err)
	}
	again := loadState(t, ws)
	if rs := again.Rule("b"); rs == nil || rs.Key != (Digest{2}) {
		t.Fatalf("rule b after reload: %+v", rs)
	}
	if e, ok := again.Files()["b.txt"]; !ok || e.Sum != sum {
		t.Fatalf("stat cache entry of b.txt after reload: %+v, %v", e, ok)
	}
	if again.Rule("a") == nil || again.Files()["a.txt"].Sum == (Digest{}) {
		t.Fatal("what the state file held was lost")
	}

	// Nothing changed: loading and saving writes nothing.
	ix = NewFileIndex(ws.Root, again.Files())
	journal, _ := os.ReadFile(journalPath(ws))
	if err := again.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(journalPath(ws)); !bytes.Equal(now, journal) {
		t.Error("a save with nothing changed wrote to the journal")
	}

	// The journal is due: the next save rewrites the state file with all of it.
	wholeSaves(t)
	again.SetRule("c", &RuleState{Key: Digest{3}, Finished: time.Now()})
	if err := again.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(journalPath(ws)); !os.IsNotExist(err) {
		t.Fatalf("journal after a save that rewrote the state file: %v", err)
	}
	third := loadState(t, ws)
	for _, name := range []string{"a", "b", "c"} {
		if third.Rule(name) == nil {
			t.Errorf("rule %s lost when the journal was folded in", name)
		}
	}
	if third.Files()["b.txt"].Sum != sum {
		t.Error("stat cache entry of b.txt lost when the journal was folded in")
	}
}

// A crash in the middle of an appending save loses at most the stat cache
// entries it was writing: the successes before them stay, and the next
// run appends after them.
func TestSaveAppendTornByCrash(t *testing.T) {
	ws, st, ix := savedWorkspace(t)
	st.SetRule("b", &RuleState{Key: Digest{2}, Finished: time.Now()})
	writeFiles(t, ws.Root, map[string]string{"b.txt": "b"})
	if _, err := ix.Hash("b.txt"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(journalPath(ws))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ws, ix); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(journalPath(ws))
	if err != nil || len(full) <= len(good) {
		t.Fatalf("journal after the save: %d bytes (%v), want more than %d", len(full), err, len(good))
	}
	// The crash: the record of the entries is cut short.
	if err := os.WriteFile(journalPath(ws), full[:len(good)+(len(full)-len(good))/2], 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	if again.Rule("a") == nil || again.Rule("b") == nil {
		t.Fatal("a success was lost with the torn record")
	}
	if _, ok := again.Files()["b.txt"]; ok {
		t.Error("the torn record's entry was read")
	}
	if err := again.SetRule("c", &RuleState{Key: Digest{3}}); err != nil {
		t.Fatal(err)
	}
	if loadState(t, ws).Rule("c") == nil {
		t.Error("a success recorded after the torn record was lost")
	}
}

// A save never appends when appending would not keep everything: a save
// that did not finish, an entry removed from the stat cache, or a success
// that could not be journaled make it rewrite the state file.
func TestSaveRewritesWhenAppendingCannot(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, ws *Workspace, st *State, ix *FileIndex)
	}{
		{"unfinished save", func(t *testing.T, ws *Workspace, st *State, ix *FileIndex) {
			if err := os.WriteFile(journalPath(ws)+".old", []byte(journalMagic), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"entry removed", func(t *testing.T, ws *Workspace, st *State, ix *FileIndex) {
			os.Remove(ws.Path("a.txt"))
			ix.Hash("a.txt")
		}},
		{"success not journaled", func(t *testing.T, ws *Workspace, st *State, ix *FileIndex) {
			st.journal = nil
		}},
		{"journal due once the entries are appended", func(t *testing.T, ws *Workspace, st *State, ix *FileIndex) {
			writeFiles(t, ws.Root, map[string]string{"b.txt": "b"})
			if _, err := ix.Hash("b.txt"); err != nil {
				t.Fatal(err)
			}
			old := saveWhole
			saveWhole = func(journal, _ int64) bool {
				fi, err := os.Stat(journalPath(ws))
				return err == nil && journal > fi.Size()
			}
			t.Cleanup(func() { saveWhole = old })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws, st, ix := savedWorkspace(t)
			c.setup(t, ws, st, ix)
			j := st.journal
			st.SetRule("b", &RuleState{Key: Digest{2}, Finished: time.Now()})
			st.journal = j
			before, _ := os.ReadFile(statePath(ws))
			if err := st.Save(ws, ix); err != nil {
				t.Fatal(err)
			}
			if after, _ := os.ReadFile(statePath(ws)); bytes.Equal(after, before) {
				t.Fatal("the state file was not rewritten")
			}
			if loadState(t, ws).Rule("b") == nil {
				t.Fatal("rule b lost")
			}
		})
	}
}
