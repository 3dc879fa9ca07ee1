package engine

import (
	"encoding/binary"
	"io/fs"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readDir lists the folder dir, opened through a Tree, taking each entry's
// type from the folder itself (getdents), as os.ReadDir does. A folder
// opened in an os.Root would stat every entry as it lists it, which
// doubles the system calls of a walk. The entries' Info goes through the
// Tree (see treeFS.ReadDir).
func readDir(dir *os.File) ([]fs.DirEntry, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	var entries []fs.DirEntry
	var readErr error
	err = rc.Read(func(fd uintptr) bool {
		entries, readErr = readDirents(int(fd))
		return true
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readdirent", Path: dir.Name(), Err: err}
	}
	return entries, nil
}

// readDirents lists the open folder fd with getdents.
func readDirents(fd int) ([]fs.DirEntry, error) {
	var entries []fs.DirEntry
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return entries, nil
		}
		entries = parseDirents(fd, buf[:n], entries)
	}
}

// parseDirents appends the entries of the linux_dirent64 records in buf,
// read from the folder fd, but . and .., to entries.
func parseDirents(fd int, buf []byte, entries []fs.DirEntry) []fs.DirEntry {
	const (
		offReclen = unsafe.Offsetof(unix.Dirent{}.Reclen)
		offType   = unsafe.Offsetof(unix.Dirent{}.Type)
		offName   = unsafe.Offsetof(unix.Dirent{}.Name)
	)
	for len(buf) > int(offName) {
		reclen := int(binary.NativeEndian.Uint16(buf[offReclen:]))
		if reclen <= int(offName) || reclen > len(buf) {
			break
		}
		name := buf[offName:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		typ := buf[offType]
		buf = buf[reclen:]
		s := string(name)
		if s == "." || s == ".." {
			continue
		}
		mode, ok := direntType(typ)
		if !ok { // the file system does not say: ask it
			var st unix.Stat_t
			if err := unix.Fstatat(fd, s, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue // gone since it was listed
			}
			mode = statType(st.Mode)
		}
		entries = append(entries, dirent{name: s, typ: mode})
	}
	return entries
}

// direntType returns the type bits of a getdents type, and false for
// DT_UNKNOWN.
func direntType(t uint8) (fs.FileMode, bool) {
	switch t {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}

// statType returns the type bits of a stat mode.
func statType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// A dirent is one entry of a folder listing. Its Info is given by
// treeDirEntry.
type dirent struct {
	name string
	typ  fs.FileMode
}

func (d dirent) Name() string               { return d.name }
func (d dirent) IsDir() bool                { return d.typ.IsDir() }
func (d dirent) Type() fs.FileMode          { return d.typ }
func (d dirent) Info() (fs.FileInfo, error) { return nil, fs.ErrInvalid }

// openDir opens the folder rel beneath the tree's folder in one system call
// that follows no link (openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS), and returns its descriptor. It reports false
// whenever it cannot (a link on the way, a missing folder, a kernel without
// openat2): the caller then opens rel through the tree's os.Root, which
// follows the links that stay inside and says why it refuses one, so the
// answer is the same either way, only slower.
func (t *Tree) openDir(rel string) (int, bool) {
	if rel != "" && !fs.ValidPath(rel) {
		return -1, false
	}
	top := t.topFD()
	if top < 0 {
		return -1, false
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	}
	for {
		fd, err := unix.Openat2(top, name(rel), &how)
		switch err {
		case nil:
			return fd, true
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS, unix.EPERM:
			noOpenat2.Store(true)
		}
		return -1, false
	}
}

// noOpenat2 is set once openat2 is found missing or forbidden (an old
// kernel, a seccomp filter): every folder is then opened through os.Root.
var noOpenat2 atomic.Bool

// topFD returns the descriptor of the tree's folder, opened through its
// os.Root at first use, or -1.
func (t *Tree) topFD() int {
	if noOpenat2.Load() {
		return -1
	}
	t.topOnce.Do(func() {
		if r, err := t.open(); err == nil {
			t.top, _ = r.Open(".")
		}
	})
	if t.top == nil {
		return -1
	}
	return int(t.top.Fd())
}

// readDirFast lists the folder rel (an fs.FS path) as readDir does, opened
// with openDir; false when openDir could not open it.
func (t *Tree) readDirFast(rel string) ([]fs.DirEntry, bool) {
	if !fs.ValidPath(rel) {
		return nil, false
	}
	fd, ok := t.openDir(rel)
	if !ok {
		return nil, false
	}
	defer unix.Close(fd)
	entries, err := readDirents(fd)
	if err != nil {
		return nil, false
	}
	return entries, true
}
