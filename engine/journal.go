package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/ferryhq/ferry/engine/platform"
)

// The journal, .ferry/journal, records each rule's success the moment it
// is known, so that a ferry killed between two saves of the state (even by
// SIGKILL or a power cut) does not run finished rules again. It holds a
// header, then one record per success: the payload's length and CRC-32C
// (4 bytes each, little endian), then the payload, a one-rule state in the
// state file's encoding. Each record is written with one write before the
// rule is reported done, so a ferry that is killed keeps it (the kernel has
// it); an fsync in the background then makes it survive a power cut too,
// off the path of the rules that wait for this one (a record a power cut
// takes away only runs its rule again). Records written while an fsync
// runs share the next one. Loading the state folds the journal in; saving
// the state moves it aside first and removes it once the state file is
// written (see rotate). A record cut short by a crash fails its checksum
// and ends the journal there.

// journalMagic starts the journal; it names the state format of the
// records, so a journal of another version is ignored.
const journalMagic = "FERRYJ1" + stateMagic

// maxJournal bounds what is read of a journal. It is emptied at every save
// of the state, so it only grows this large when saves keep failing.
const maxJournal = 64 << 20

// journalRecordHead is the length and checksum in front of each record.
const journalRecordHead = 8

var journalCRC = crc32.MakeTable(crc32.Castagnoli)

// journalSync makes the journal's records durable; tests count its calls.
var journalSync = (*os.File).Sync

// journal appends rule successes to a workspace's journal file. Records
// written together share an fsync (group commit): while one fsync runs, the
// records written meanwhile wait for the next, which starts once it ends
// and covers them all.
type journal struct {
	ws   *Workspace
	path string
	mu   sync.Mutex
	f    *os.File // opened at the first record
	good int64    // where the valid records end in the file

	syncing bool       // a commit goroutine is running
	next    *syncRound // the records written since the running fsync began
	idle    *sync.Cond // on mu: syncing became false
	syncErr error      // a background fsync failed: the next append says so
}

// A syncRound is one fsync and the records it makes durable.
type syncRound struct {
	f *os.File
}

func journalPath(ws *Workspace) string { return filepath.Join(ws.Root, StateDir, "journal") }

// openJournalFile opens the journal without following a symbolic link,
// refusing anything but a regular file (a FIFO would block a read).
func openJournalFile(path string, flag int) (*os.File, error) {
	f, err := platform.OpenNoFollow(path, flag|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link, which ferry does not follow: remove it", path)
		}
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: remove it", path)
	}
	return f, nil
}

// readJournal returns the journal of ws and the rule states it records, in
// the order they were recorded: those moved aside by a save that did not
// finish, then the others. A missing journal records nothing.
func readJournal(ws *Workspace) (*journal, []string, []*RuleState, error) {
	j := &journal{ws: ws, path: journalPath(ws)}
	names, states, _, err := readJournalFile(j.old())
	names2, states2, good, err2 := readJournalFile(j.path)
	j.good = good
	return j, append(names, names2...), append(states, states2...), errors.Join(err, err2)
}

// readJournalFile returns the records of one journal file and where the
// valid ones end.
func readJournalFile(path string) ([]string, []*RuleState, int64, error) {
	f, err := openJournalFile(path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, 0, nil
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("rules recorded since the last save run again: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	var tooBig error
	if len(data) > maxJournal {
		data = data[:maxJournal]
		tooBig = fmt.Errorf("%s is larger than %d MiB: read only its start, so some rules recorded there run again", path, maxJournal>>20)
	}
	if len(data) < len(journalMagic) || string(data[:len(journalMagic)]) != journalMagic {
		return nil, nil, 0, tooBig
	}
	var names []string
	var states []*RuleState
	off := len(journalMagic)
	for len(data)-off >= journalRecordHead {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		end := off + journalRecordHead + n
		if n > len(data)-off-journalRecordHead || crc32.Checksum(data[off+journalRecordHead:end], journalCRC) != sum {
			break
		}
		var sf stateFile
		if decodeStatePayload(data[off+journalRecordHead:end], &sf) != nil || len(sf.Rules) != 1 {
			break
		}
		for name, rs := range sf.Rules {
			names, states = append(names, name), append(states, rs)
		}
		off = end
	}
	return names, states, int64(off), tooBig
}

// append records name's success: it returns once the record is written,
// and an fsync that starts after the write makes it durable in the
// background (rotate waits for it). It opens the journal at its first
// record, dropping what a crash left half written. An fsync that failed is
// returned by the next append.
func (j *journal) append(name string, rs *RuleState) error {
	payload := encodeState(&stateFile{Rules: map[string]*RuleState{name: rs}})
	rec := make([]byte, journalRecordHead, journalRecordHead+len(payload))
	binary.LittleEndian.PutUint32(rec, uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, journalCRC))
	rec = append(rec, payload...)
	j.mu.Lock()
	if j.f == nil {
		if err := j.open(); err != nil {
			j.mu.Unlock()
			return err
		}
	}
	if _, err := j.f.Write(rec); err != nil {
		// Take back what was written of the record (a full disk may cut
		// it short): the records appended after it must stay readable.
		if j.f.Truncate(j.good) != nil {
			j.f.Close() // the next record reopens it, truncating
			j.f = nil
		} else {
			j.f.Seek(j.good, io.SeekStart)
		}
		j.mu.Unlock()
		return fmt.Errorf("write %s: %w", j.path, err)
	}
	j.good += int64(len(rec))
	if j.next == nil {
		j.next = &syncRound{f: j.f}
	}
	if !j.syncing {
		r := j.next
		j.syncing = true
		j.next = nil
		go j.commit(r)
	}
	err := j.syncErr
	j.syncErr = nil
	j.mu.Unlock()
	return err
}

// commit runs the fsync of r, then of the rounds that gathered meanwhile,
// until none is waiting.
func (j *journal) commit(r *syncRound) {
	for r != nil {
		// fsync: an append changes the file's size, which fdatasync would
		// flush as well, so it would save nothing.
		err := journalSync(r.f)
		j.mu.Lock()
		if err != nil {
			j.syncErr = fmt.Errorf("sync %s: %w", j.path, err)
		}
		r, j.next = j.next, nil
		if r == nil {
			j.syncing = false
			j.idleCond().Broadcast()
		}
		j.mu.Unlock()
	}
}

// idleCond returns the condition that commit has ended; j.mu is held.
func (j *journal) idleCond() *sync.Cond {
	if j.idle == nil {
		j.idle = sync.NewCond(&j.mu)
	}
	return j.idle
}

// open opens the journal for appending after its valid records; j.mu is
// held.
func (j *journal) open() error {
	if _, err := j.ws.StateFolder(); err != nil {
		return err
	}
	f, err := openJournalFile(j.path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return err
	}
	if j.good < int64(len(journalMagic)) {
		j.good = 0
	}
	err = f.Truncate(j.good)
	if err == nil && j.good == 0 {
		_, err = f.WriteString(journalMagic)
	}
	if err == nil {
		j.good, err = f.Seek(0, io.SeekEnd)
	}
	if err == nil {
		// The file's name must survive a crash too.
		err = f.Sync()
		if d, derr := os.Open(filepath.Dir(j.path)); derr == nil {
			d.Sync()
			d.Close()
		}
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("open %s: %w", j.path, err)
	}
	j.f = f
	return nil
}

// rotate moves the journal aside, to journal.old, before the state is
// snapshot for a save: every success it holds is then in the snapshot, and
// successes that follow go to a new journal. When journal.old is still there
// (a save failed), the journal stays where it is until a save succeeds.
func (j *journal) rotate() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := os.Lstat(j.old()); err == nil {
		return
	}
	// The file stays open until the fsyncs of records already written
	// have ended.
	for j.syncing {
		j.idleCond().Wait()
	}
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	j.good = 0
	os.Rename(j.path, j.old())
}

// saved removes what rotate moved aside, once the state file holds it.
func (j *journal) saved() {
	if j != nil {
		os.Remove(j.old())
	}
}

func (j *journal) old() string { return j.path + ".old" }
