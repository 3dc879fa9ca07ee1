package watch

import (
	"io/fs"
	"os"

	"github.com/ferryhq/ferry/engine/platform"
)

// noFollow is 0: os.Root keeps the open within the root, and readRegular
// checks that the file is a regular one before and after opening it.
const noFollow = 0

// fileID returns the zero FileID: Windows has no device and inode in a
// FileInfo, so ferry watch cannot tell its own output files (see
// platform.WatchOwnOutput), and says so when one is redirected to a file.
func fileID(fi fs.FileInfo) FileID {
	if fi.Mode().IsRegular() {
		platform.Warn(os.Stderr, platform.WatchOwnOutput)
	}
	return FileID{}
}
