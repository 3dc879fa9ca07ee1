package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
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
//
// A save that finds little changed does not rewrite the state file: it
// appends one more record, the stat cache entries that changed, and
// fsyncs the journal before it returns (see State.Save). The state is then
// the state file with its journal folded in, and a save rewrites the file
// (compacts) once the journal grows past a share of it (saveWhole).

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

// journalRecords is what a journal holds: rule successes, in the order
// they were recorded, and stat cache entries, the later ones replacing the
// earlier.
type journalRecords struct {
	names  []string
	states []*RuleState
	files  map[string]fileStat
	old    bool // some came from a save that did not finish (journal.old)
}

// readJournal returns the journal of ws and what it records: what a save
// that did not finish moved aside, then the rest. A missing journal
// records nothing.
func readJournal(ws *Workspace) (*journal, *journalRecords, error) {
	j := &journal{ws: ws, path: journalPath(ws)}
	recs := &journalRecords{files: map[string]fileStat{}}
	_, err := readJournalFile(j.old(), recs)
	recs.old = len(recs.names)+len(recs.files) > 0
	good, err2 := readJournalFile(j.path, recs)
	j.good = good
	return j, recs, errors.Join(err, err2)
}

// readJournalFile adds the records of one journal file to recs and
// returns where the valid ones end.
func readJournalFile(path string, recs *journalRecords) (int64, error) {
	data, err := readJournalBytes(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rules recorded since the last save run again: %w", err)
	}
	var tooBig error
	if len(data) > maxJournal {
		data = data[:maxJournal]
		tooBig = fmt.Errorf("%s is larger than %d MiB: read only its start, so some rules recorded there run again", path, maxJournal>>20)
	}
	if len(data) < len(journalMagic) || string(data[:len(journalMagic)]) != journalMagic {
		return 0, tooBig
	}
	off := len(journalMagic)
	for len(data)-off >= journalRecordHead {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		end := off + journalRecordHead + n
		if n > len(data)-off-journalRecordHead || crc32.Checksum(data[off+journalRecordHead:end], journalCRC) != sum {
			break
		}
		// A record is one success, or stat cache entries.
		var sf stateFile
		if decodeStatePayload(data[off+journalRecordHead:end], &sf) != nil || len(sf.Rules)+min(len(sf.Files), 1) != 1 {
			break
		}
		for name, rs := range sf.Rules {
			recs.names, recs.states = append(recs.names, name), append(recs.states, rs)
		}
		maps.Copy(recs.files, sf.Files)
		off = end
	}
	return int64(off), tooBig
}

// readJournalBytes reads the journal file at path, at most one byte more
// than maxJournal.
func readJournalBytes(path string) ([]byte, error) {
	f, err := openJournalFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// append records name's success: it returns once the record is written,
// and an fsync that starts after the write makes it durable in the
// background (rotate waits for it). It opens the journal at its first
// record, dropping what a crash left half written. An fsync that failed is
// returned by the next append.
func (j *journal) append(name string, rs *RuleState) error {
	rec := journalRecord(&stateFile{Rules: map[string]*RuleState{name: rs}})
	j.mu.Lock()
	if err := j.write(rec); err != nil {
		j.mu.Unlock()
		return err
	}
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

// errJournalFull is returned by appendFiles when the record would make the
// journal due to be folded into the state file (see saveWhole).
var errJournalFull = errors.New("the journal is due to be folded into the state file")

// appendFiles records stat cache entries (none: it writes no record) and
// returns once they, and every record before them, are durable. It writes
// nothing and returns errJournalFull when the journal would then be too
// long for a state file of state bytes.
func (j *journal) appendFiles(files map[string]fileStat, state int64) error {
	j.mu.Lock()
	if len(files) > 0 {
		rec := journalRecord(&stateFile{Files: files})
		if saveWhole(max(j.good, int64(len(journalMagic)))+int64(len(rec)), state) {
			j.mu.Unlock()
			return errJournalFull
		}
		if err := j.write(rec); err != nil {
			j.mu.Unlock()
			return err
		}
	}
	f := j.f
	j.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := journalSync(f); err != nil {
		return fmt.Errorf("sync %s: %w", j.path, err)
	}
	return nil
}

// journalRecord returns the record of sf: its length, checksum and
// encoding.
func journalRecord(sf *stateFile) []byte {
	payload := encodeState(sf)
	rec := make([]byte, journalRecordHead, journalRecordHead+len(payload))
	binary.LittleEndian.PutUint32(rec, uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, journalCRC))
	return append(rec, payload...)
}

// write appends rec to the journal, opening it at the first record and
// taking back what a failed write left; j.mu is held.
func (j *journal) write(rec []byte) error {
	if j.f == nil {
		if err := j.open(); err != nil {
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
		return fmt.Errorf("write %s: %w", j.path, err)
	}
	j.good += int64(len(rec))
	return nil
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
