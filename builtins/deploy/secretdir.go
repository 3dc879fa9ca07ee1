package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ferryhq/ferry/engine/platform"
)

// The secret files of the containers that the local Docker Engine runs
// live on the host, in a folder of the user's on a tmpfs, so a value never
// reaches a disk:
//
//	/dev/shm/ferry-UID/PROJECT/RULE/HMAC
//
// Every folder on that path is made by ferry with mode 0700 and must
// belong to the user running it: /dev/shm is writable by everyone, and a
// folder someone else made there could be read by them.

// secretBase returns the tmpfs that holds ferry-UID: /dev/shm, else
// $XDG_RUNTIME_DIR.
func secretBase() (string, error) {
	if err := platform.Unsupported(platform.SecretFiles); err != nil {
		return "", err
	}
	var tried []string
	for _, base := range []string{"/dev/shm", os.Getenv("XDG_RUNTIME_DIR")} {
		if base == "" {
			continue
		}
		fi, err := os.Stat(base)
		if err != nil || !fi.IsDir() {
			continue
		}
		if tmpfs, err := isTmpfs(base); err == nil && tmpfs {
			return base, nil
		}
		tried = append(tried, base)
	}
	if len(tried) > 0 {
		return "", fmt.Errorf("secret_files need a tmpfs on the host, so secrets never reach a disk, and %v is not one; mount a tmpfs there, or pass the secrets in env", tried)
	}
	return "", errors.New("secret_files need a tmpfs on the host, so secrets never reach a disk, and neither /dev/shm nor $XDG_RUNTIME_DIR exists; mount one or pass the secrets in env")
}

func userSecretDir(base string) string {
	return filepath.Join(base, "ferry-"+strconv.Itoa(os.Getuid()))
}

// SecretDir is the folder that holds the secret files of the project's
// containers (see the top of this file). It may not exist.
func SecretDir(project string) (string, error) {
	base, err := secretBase()
	if err != nil {
		return "", err
	}
	return filepath.Join(userSecretDir(base), project), nil
}

// makeSecretDir makes, or checks, the folder of the rule's secret files
// and every folder above it up to the tmpfs, and returns it.
func makeSecretDir(project, rule string) (string, error) {
	base, err := secretBase()
	if err != nil {
		return "", err
	}
	dir := userSecretDir(base)
	for _, name := range []string{"", project, rule} {
		dir = filepath.Join(dir, name)
		if err := privateDir(dir); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// privateDir makes dir with mode 0700, or checks that the folder there is
// a real folder (not a link) of this user's, and makes its mode 0700.
func privateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	uid, ok := platform.Owner(fi)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder (%s): ferry keeps secret files there; remove it and run again", dir, fi.Mode().Type())
	case !ok:
		return fmt.Errorf("%s: cannot tell who owns it, so ferry will not keep secret files there", dir)
	case uid != os.Getuid():
		return fmt.Errorf("%s belongs to user %d, not to you (%d): someone else made it, maybe to read the secret files ferry keeps there; "+
			"check who did, remove it (as root if need be), and run again", dir, uid, os.Getuid())
	case fi.Mode().Perm() != 0o700:
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// writeSecretFile writes value to path (0444) unless this user's file is
// there already: files are named by the HMAC of their value.
func writeSecretFile(path, value string) error {
	if fi, err := os.Lstat(path); err == nil {
		if uid, ok := platform.Owner(fi); ok && fi.Mode().IsRegular() && uid == os.Getuid() {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Readable by the container's user, whoever it is; the folders
	// above are the host's guard.
	if err := os.Chmod(f.Name(), 0o444); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// pruneSecretFiles removes the files of the rule's folder that keep does
// not list: the values its containers held before a rotation.
func pruneSecretFiles(project, rule string, keep map[string]string) error {
	dir, err := SecretDir(project)
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, host := range keep {
		kept[filepath.Base(host)] = true
	}
	return removeExcept(filepath.Join(dir, rule), kept)
}

// RemoveSecretFiles removes the secret files of the project's rules that
// keep does not list, or of all its rules when keep is nil.
func RemoveSecretFiles(project string, keep []string) error {
	dir, err := SecretDir(project)
	if err != nil {
		return nil
	}
	if keep == nil {
		return os.RemoveAll(dir)
	}
	wanted := map[string]bool{}
	for _, k := range keep {
		wanted[k] = true
	}
	return removeExcept(dir, wanted)
}

// removeExcept removes what the folder dir holds but keep, if dir exists.
func removeExcept(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
