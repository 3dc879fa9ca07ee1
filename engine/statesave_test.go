package engine

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
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
