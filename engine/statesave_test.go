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
