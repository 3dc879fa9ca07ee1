package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Layout is the shape of the generated context: files in leaf folders of
// perLeaf, leaf folders in middle folders of perMid, as a source tree
// spreads its files.
type Layout struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"` // total size of the files
}

const (
	perLeaf = 50
	perMid  = 50
)

// Path is the context-relative path of file i.
func (l Layout) Path(i int) string {
	leaf := i / perLeaf
	return fmt.Sprintf("data/m%03d/l%02d/f%02d.bin", leaf/perMid, leaf%perMid, i%perLeaf)
}

// Size of file i: around the mean, spread by ±50%, in pairs that add up to
// twice the mean, so the total is the requested size.
func (l Layout) Size(i int) int64 {
	mean := l.Bytes / int64(l.Files)
	last := l.Bytes - mean*int64(l.Files-1) // the remainder goes to the last file
	if i == l.Files-1 && l.Files%2 == 1 {
		return last
	}
	r := rand.New(rand.NewPCG(uint64(i/2), 0x5eed))
	d := int64(float64(mean) * 0.5 * r.Float64())
	size := mean + d
	if i%2 == 1 {
		size = mean - d
		if i == l.Files-1 {
			size += last - mean
		}
	}
	return size
}

// poolSize is the pseudo-random bytes that file contents are cut from.
const poolSize = 8 << 20

// generate writes the context under dir: the Dockerfile, the marker it
// copies, and the data files, with real (incompressible) contents, each
// file unique. It writes in parallel and returns the total written.
func generate(dir string, l Layout) (int64, error) {
	pool := make([]byte, poolSize)
	cc := rand.NewChaCha8([32]byte{'f', 'e', 'r', 'r', 'y'})
	cc.Read(pool)
	maxSize := l.Bytes/int64(l.Files)*3/2 + 1
	if maxSize > poolSize/2 {
		return 0, fmt.Errorf("files of %d bytes: the generator makes files of up to %d bytes; give more -files", maxSize, poolSize/2)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	top := map[string]string{
		"Dockerfile": "FROM scratch\nCOPY marker /\n",
		"marker":     "bench/context\n",
	}
	for name, content := range top {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return 0, err
		}
	}
	for leaf := 0; leaf*perLeaf < l.Files; leaf++ {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(l.Path(leaf*perLeaf))), 0o755); err != nil {
			return 0, err
		}
	}
	workers := 2 * runtime.NumCPU()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		total int64
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, maxSize+64)
			var written int64
			for i := w; i < l.Files; i += workers {
				size := l.Size(i)
				buf = append(buf[:0], "file "+strconv.Itoa(i)+" of a bench/context build context\n"...)
				off := int64(uint64(i)*2654435761) % (poolSize - size)
				buf = append(buf, pool[off:off+size]...)
				buf = buf[:size]
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(l.Path(i))), buf, 0o644); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				written += size
			}
			mu.Lock()
			total += written
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// walkResult is what a bare walk saw.
type walkResult struct {
	Files int
	Bytes int64
}

// bareWalk is the floor of a warm key: it lists every folder of the tree
// and stats every file (os.Lstat), and reads nothing.
func bareWalk(dir string) (walkResult, error) {
	var res walkResult
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		res.Files++
		res.Bytes += fi.Size()
		return nil
	})
	return res, err
}

// freeBytes is the space available to unprivileged writers on the file
// system holding path, and that file system's device.
func freeBytes(path string) (int64, uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(path, &fi); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), uint64(fi.Dev), nil
}

// parseSize reads "1GB", "500MB", "10MiB", "123456" (bytes).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, with an optional unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return int64(f * float64(mult)), nil
}

// human formats bytes in SI units.
func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
