package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/joho/godotenv"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/platform"
)

// missingError reports a source that has no value, which an optional
// secret allows.
type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }

func missingf(format string, args ...any) error {
	return &missingError{fmt.Sprintf(format, args...)}
}

type envSource string

func (e envSource) String() string { return "environment variable " + string(e) }

func (e envSource) read(context.Context) (string, error) {
	v, ok := os.LookupEnv(string(e))
	if !ok {
		return "", missingf("environment variable %s is not set: export it before running ferry", string(e))
	}
	return v, nil
}

type fileSource struct{ root, rel string }

func (f fileSource) String() string { return "file " + f.rel }

func (f fileSource) read(context.Context) (string, error) {
	b, err := readSourceFile(filepath.Join(f.root, f.rel))
	if err != nil {
		return "", fileError(f.rel, err)
	}
	return string(b), nil
}

// maxSourceFile is the largest file a secret is read from: a secret is a
// value, not a data set.
const maxSourceFile = 1 << 20

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = fmt.Errorf("larger than %d KiB", maxSourceFile>>10)
)

// readSourceFile reads the regular file path, of at most maxSourceFile
// bytes. A named pipe, a device (such as a link to /dev/zero) or a huge
// file in a ferry.star from a pull request would otherwise hang ferry or
// exhaust its memory.
func readSourceFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, errNotRegular
	case fi.Size() > maxSourceFile:
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSourceFile+1))
	if err == nil && len(b) > maxSourceFile {
		err = errTooLarge
	}
	return b, err
}

// fileError says what to do about a file that cannot be read.
func fileError(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return missingf("file %s does not exist: create it or fix the path", rel)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read file %s (permission denied): give the user running ferry read access to it (chmod, chown)", rel)
	}
	return fmt.Errorf("cannot read file %s (%v): give a readable regular file of at most %d KiB", rel, err, maxSourceFile>>10)
}

type dotenvSource struct{ root, rel, key, env string }

// String names the files read, the environment's first under --env. It is
// part of the keys of the rules that use the secret, so it depends on
// the configuration only, not on which file has the variable.
func (d dotenvSource) String() string {
	if d.env != "" {
		return fmt.Sprintf("variable %s of %s.%s or %s", d.key, d.rel, d.env, d.rel)
	}
	return fmt.Sprintf("variable %s of %s", d.key, d.rel)
}

func (d dotenvSource) read(context.Context) (string, error) {
	if d.env != "" {
		if v, ok, err := d.lookup(d.rel+"."+d.env, true); err != nil || ok {
			return v, err
		}
	}
	v, ok, err := d.lookup(d.rel, false)
	if err == nil && !ok {
		err = missingf("%s has no variable %s: add a line %s=... to it", d.rel, d.key, d.key)
	}
	return v, err
}

// lookup reads variable d.key from the .env file rel; an optional file
// may be missing.
func (d dotenvSource) lookup(rel string, optional bool) (string, bool, error) {
	b, err := readSourceFile(filepath.Join(d.root, rel))
	if optional && errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fileError(rel, err)
	}
	vars, err := godotenv.UnmarshalBytes(b)
	if err != nil {
		// The parser's message may quote a line, and so a value.
		return "", false, fmt.Errorf("%s is not a valid .env file (lines of NAME=value); check its syntax", rel)
	}
	v, ok := vars[d.key]
	return v, ok, nil
}

type cmdSource struct {
	cmd engine.Cmd
	dir string
	ev  *engine.Evaluation // the evaluation that declared the secret, for the command's environment
}

func (c cmdSource) String() string {
	if c.cmd.Argv != nil {
		return fmt.Sprintf("command %q", c.cmd.Argv)
	}
	return fmt.Sprintf("command %q", c.cmd.Shell)
}

func (c cmdSource) read(ctx context.Context) (string, error) {
	if err := platform.Unsupported(platform.SecretKey); err != nil {
		return "", err
	}
	var cmd *exec.Cmd
	if c.cmd.Argv != nil {
		cmd = exec.CommandContext(ctx, c.cmd.Argv[0], c.cmd.Argv[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", c.cmd.Shell)
	}
	cmd.Dir = c.dir
	cmd.Env = c.ev.Environ(nil)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stdin = os.Stdin // a password manager may ask for a passphrase
	// Its standard error is not shown: it might echo the value.
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed (%v): run it by hand to see why", c, err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(out.String(), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s printed nothing: it must print the value on its standard output", c)
	}
	return v, nil
}
