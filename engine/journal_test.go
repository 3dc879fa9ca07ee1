package engine

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func journalWorkspace(t testing.TB) *Workspace {
	dir := t.TempDir()
	return &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
}

func loadState(t testing.TB, ws *Workspace) *State {
	t.Helper()
	st, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A success is on disk as soon as SetRule returns: a process that never
// saves (killed) loses none, and a record torn by the crash is dropped
// without hiding the ones before it.
func TestJournalKeepsSuccessesWithoutSave(t *testing.T) {
	ws := journalWorkspace(t)
	st := loadState(t, ws)
	for i, name := range []string{"a", "b", "c"} {
		if err := st.SetRule(name, &RuleState{Key: Digest{byte(i + 1)}, Inputs: []FileSum{{Path: "x", Sum: Digest{9}}}, Finished: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// A crash in the middle of the fourth record.
	f, err := os.OpenFile(journalPath(ws), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 5})
	f.Close()

	again := loadState(t, ws)
	for i, name := range []string{"a", "b", "c"} {
		rs := again.Rule(name)
		if rs == nil || rs.Key != (Digest{byte(i + 1)}) || len(rs.Inputs) != 1 {
			t.Fatalf("rule %s after reload: %+v, want the recorded success", name, rs)
		}
	}
	// The next record goes after the valid ones, not after the torn bytes.
	if err := again.SetRule("d", &RuleState{Key: Digest{4}}); err != nil {
		t.Fatal(err)
	}
	third := loadState(t, ws)
	for _, name := range []string{"a", "b", "c", "d"} {
		if third.Rule(name) == nil {
			t.Errorf("rule %s lost after a torn record was followed by a new one", name)
		}
	}
}

// Saving the state folds the journal in and empties it; a record older
// than the saved state does not replace it.
func TestJournalClearedBySave(t *testing.T) {
	ws := journalWorkspace(t)
	st := loadState(t, ws)
	old := time.Now()
	st.SetRule("a", &RuleState{Key: Digest{1}, Finished: old})
	if err := st.Save(ws, NewFileIndex(ws.Root, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(journalPath(ws)); !os.IsNotExist(err) {
		t.Errorf("journal after a save: %v, want it removed", err)
	}
	if rs := loadState(t, ws).Rule("a"); rs == nil || rs.Key != (Digest{1}) {
		t.Fatalf("rule a after save and reload: %+v", rs)
	}

	// A stale journal (a crash right after a save that rewrote the state
	// file, before its removal) holds an older success of a.
	wholeSaves(t)
	st = loadState(t, ws)
	st.SetRule("a", &RuleState{Key: Digest{2}, Finished: old.Add(time.Second)})
	stale, err := os.ReadFile(journalPath(ws))
	if err != nil {
		t.Fatal(err)
	}
	st.SetRule("a", &RuleState{Key: Digest{3}, Finished: old.Add(2 * time.Second)})
	if err := st.Save(ws, NewFileIndex(ws.Root, nil)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(journalPath(ws), stale, 0o644); err != nil {
		t.Fatal(err)
	}
	if rs := loadState(t, ws).Rule("a"); rs == nil || rs.Key != (Digest{3}) {
		t.Errorf("rule a: %+v, want the newer saved success, not the stale record", rs)
	}
}

// The journal is never followed through a symbolic link, read or written.
func TestJournalRefusesSymlink(t *testing.T) {
	ws := journalWorkspace(t)
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	os.MkdirAll(filepath.Join(ws.Root, StateDir), 0o755)
	if err := os.Symlink(target, journalPath(ws)); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(ws, true)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("LoadState with a linked journal: %v, want an error naming the link", err)
	}
	if err := st.SetRule("a", &RuleState{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("SetRule with a linked journal: %v, want an error naming the link", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was changed to %q", b)
	}
}

// BenchmarkJournalAppend measures recording one success durably (one write
// and one fdatasync), what each rule that runs pays. The file system is
// that of the test's temporary folder (set TMPDIR to measure another).
func BenchmarkJournalAppend(b *testing.B) {
	ws := journalWorkspace(b)
	st := loadState(b, ws)
	rs := &RuleState{Key: Digest{1}, Def: Digest{2}, Finished: time.Now(), Deps: map[string]Digest{"dep": {3}}}
	for i := range 10 {
		rs.Inputs = append(rs.Inputs, FileSum{Path: fmt.Sprintf("src/file%d.go", i), Sum: Digest{byte(i)}})
	}
	for i := 0; b.Loop(); i++ {
		if err := st.SetRule(fmt.Sprintf("rule%d", i), rs); err != nil {
			b.Fatal(err)
		}
	}
}

// Saves running while rules record their successes lose none of them even
// when the process dies before its last save: each success is in the state
// file or in a journal.
func TestJournalWithConcurrentSaves(t *testing.T) {
	ws := journalWorkspace(t)
	st := loadState(t, ws)
	ix := NewFileIndex(ws.Root, nil)
	const rules = 300
	done := make(chan struct{})
	saved := make(chan struct{})
	go func() {
		defer close(saved)
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
		if err := st.SetRule(fmt.Sprintf("r%d", i), &RuleState{Key: Digest{1}}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	<-saved
	// No last save: the process is gone.
	again := loadState(t, ws)
	for i := range rules {
		if again.Rule(fmt.Sprintf("r%d", i)) == nil {
			t.Fatalf("rule r%d was recorded but is lost", i)
		}
	}
}

// Recording a success does not wait for the disk: SetRule returns once the
// record is written (a killed ferry keeps it), while the fsync that makes it
// survive a power cut runs in the background, off the path of the rules
// that wait for this one. Records written while an fsync runs share the
// next one, and a save waits for the fsyncs before it moves the journal
// aside.
func TestJournalGroupCommit(t *testing.T) {
	ws := journalWorkspace(t)
	st := loadState(t, ws)
	// Opens the journal; the record is as large as the others.
	if err := st.SetRule("r8", &RuleState{Key: Digest{2}}); err != nil {
		t.Fatal(err)
	}
	// Wait for the background fsync of r8's record, if it has not ended.
	waitFor(t, "the first record's fsync to end", func() bool {
		j := st.journal
		j.mu.Lock()
		defer j.mu.Unlock()
		return !j.syncing
	})
	var mu sync.Mutex
	syncs := 0
	held := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	journalSync = func(f *os.File) error {
		mu.Lock()
		syncs++
		n := syncs
		mu.Unlock()
		if n == 1 {
			close(held)
			<-release
		}
		return f.Sync()
	}
	t.Cleanup(func() { journalSync = (*os.File).Sync })
	size := func() int64 {
		fi, err := os.Stat(journalPath(ws))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	recSize := before - int64(len(journalMagic))
	const rules = 8
	// The first record starts an fsync, which is held: SetRule returns all
	// the same, and so do the records written meanwhile.
	done := make(chan error, rules)
	go func() { done <- st.SetRule("r0", &RuleState{Key: Digest{2}}) }()
	<-held
	for i := 1; i < rules; i++ {
		go func() { done <- st.SetRule(fmt.Sprintf("r%d", i), &RuleState{Key: Digest{2}}) }()
	}
	for range rules {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("SetRule waited for an fsync that was held")
		}
	}
	if got := size() - before; got != rules*recSize {
		t.Fatalf("journal grew by %d bytes, want the %d records of %d bytes written", got, rules, recSize)
	}
	// A save waits for the held fsync before it moves the journal aside.
	saved := make(chan error, 1)
	go func() { saved <- st.Save(ws, NewFileIndex(ws.Root, nil)) }()
	select {
	case err := <-saved:
		t.Fatalf("Save returned (%v) while an fsync of the journal was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	// Two rounds: the held one, and one for the rest.
	mu.Lock()
	n := syncs
	mu.Unlock()
	if n < 1 || n > 2 {
		t.Errorf("%d fsyncs for %d records written together, want at most 2 (the held one, and one for the rest)", n, rules)
	}
	again := loadState(t, ws)
	for i := range rules + 1 {
		if again.Rule(fmt.Sprintf("r%d", i)) == nil {
			t.Errorf("rule r%d lost", i)
		}
	}
}

// BenchmarkJournalAppendConcurrent measures recording successes from about 8
// goroutines at once, as rules finishing together do: they share fsyncs.
func BenchmarkJournalAppendConcurrent(b *testing.B) {
	ws := journalWorkspace(b)
	st := loadState(b, ws)
	rs := &RuleState{Key: Digest{1}, Def: Digest{2}, Finished: time.Now(), Deps: map[string]Digest{"dep": {3}}}
	var n atomic.Int64
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := st.SetRule(fmt.Sprintf("rule%d", n.Add(1)), rs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A record whose write fails part-way (a full disk, a file size limit) is
// taken back, so the records appended after it, which were reported
// durable, are read back after a crash. The write fails for real: a child
// process records under a file size limit (RLIMIT_FSIZE), then lifts it.
func TestJournalShortWriteTakenBack(t *testing.T) {
	if dir := os.Getenv("FERRY_TEST_JOURNAL_SHORT_WRITE"); dir != "" {
		journalShortWriteChild(dir)
		return
	}
	ws := journalWorkspace(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestJournalShortWriteTakenBack$")
	cmd.Env = append(os.Environ(), "FERRY_TEST_JOURNAL_SHORT_WRITE="+ws.Root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the child that records under a file size limit: %v\n%s", err, out)
	}
	st := loadState(t, ws)
	for _, name := range []string{"a", "c"} {
		if st.Rule(name) == nil {
			t.Errorf("rule %s, recorded as durable, is lost after the torn record of b", name)
		}
	}
}

// journalShortWriteChild records a, then b under a file size limit that
// cuts b's record short, then c with the limit lifted, and exits without
// a save, as a crash would.
func journalShortWriteChild(dir string) {
	signal.Ignore(syscall.SIGXFSZ)
	ws := &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
	st, err := LoadState(ws, true)
	if err != nil {
		panic(err)
	}
	if err := st.SetRule("a", &RuleState{Key: Digest{1}}); err != nil {
		panic(err)
	}
	fi, err := os.Stat(journalPath(ws))
	if err != nil {
		panic(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		panic(err)
	}
	limit := old
	limit.Cur = uint64(fi.Size()) + 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		panic(err)
	}
	if err := st.SetRule("b", &RuleState{Key: Digest{2}, Inputs: []FileSum{{Path: strings.Repeat("x", 100)}}}); err == nil {
		panic("the record of b was written whole under the limit")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		panic(err)
	}
	if err := st.SetRule("c", &RuleState{Key: Digest{3}}); err != nil {
		panic(err)
	}
	os.Exit(0)
}
