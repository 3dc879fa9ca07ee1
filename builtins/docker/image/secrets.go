package image

// Secrets must not end up in an image: its layers keep every file they
// copy for good, for anyone who can pull the image to read. An image rule
// refuses to build when its context sends a file that holds a secret's
// value in clear (known from secret(file =) and secret(dotenv =) without
// reading the file), or a file whose bytes hold the value of a secret
// read during this run.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// runTimeHow says how a secret should reach an image's containers.
const runTimeHow = "give the secret to the containers at run time instead, with service(env = {...}) or service(secret_files = {...})"

// SecretFilesSent returns the files that hold a secret's value in clear
// and that the build context of i sends, after .dockerignore and ignore =.
// It reads no file's contents but .dockerignore's. A context folder that
// is missing sends nothing (the build says what is wrong with it).
func (i *Image) SecretFilesSent(ctx context.Context) ([]engine.SecretFile, error) {
	if len(i.secretFiles()) == 0 || i.checkContext(i.ws) != nil {
		return nil, nil
	}
	bc, err := i.readContext(ctx, i.ws)
	if err != nil {
		return nil, err
	}
	return i.secretFilesIn(bc), nil
}

// secretFiles returns the secret files of the evaluation inside i's
// context folder.
func (i *Image) secretFiles() []engine.SecretFile {
	if i.ev == nil {
		return nil
	}
	var out []engine.SecretFile
	for _, f := range i.ev.SecretFiles() {
		if _, ok := within(i.context, f.Path); ok {
			out = append(out, f)
		}
	}
	return out
}

// secretFilesIn returns the secret files that bc sends.
func (i *Image) secretFilesIn(bc *buildContext) []engine.SecretFile {
	var out []engine.SecretFile
	for _, f := range i.secretFiles() {
		if bc.sends(f.Path) {
			out = append(out, f)
		}
	}
	return out
}

// sends reports whether the context sends the workspace file ws, as a
// file (a symlink sends no contents).
func (bc *buildContext) sends(ws string) bool {
	for _, e := range bc.entries {
		if e.ws == ws && e.mode.IsRegular() {
			return true
		}
	}
	return false
}

// secretFilesError refuses the build of i, whose context sends files.
func (i *Image) secretFilesError(files []engine.SecretFile) error {
	var what, names []string
	for _, f := range files {
		what = append(what, fmt.Sprintf("%s (the value of secret %s, declared at %s)", f.Path, f.Secret, f.Pos))
		rel, _ := within(i.context, f.Path)
		names = append(names, rel)
	}
	return fmt.Errorf("the image is not built: its build context %s sends %s, and image layers keep every file the Dockerfile copies for good, for anyone who can pull the image to read; "+
		"move the file out of %s, or add %s to %s (or to ignore =), and %s",
		i.context, strings.Join(what, ", "), i.context, strings.Join(names, ", "), path.Join(i.context, dockerignore), runTimeHow)
}

// A secretContentError is a build refused because a file of its context
// holds the value of a secret ferry read during this run.
type secretContentError struct {
	file, secret string
}

func (e *secretContentError) Error() string {
	return fmt.Sprintf("the image is not built: context file %s holds the value of secret %s, and image layers keep every file the Dockerfile copies for good, for anyone who can pull the image to read; "+
		"keep the value out of the build context (a task given it in secrets = must not write it there), and %s",
		e.file, e.secret, runTimeHow)
}

// contentError returns a *secretContentError when err says that a Guard
// found a value in file, and err otherwise.
func contentError(file string, err error) error {
	var fe *redact.FoundError
	if errors.As(err, &fe) {
		return &secretContentError{file: file, secret: fe.Name}
	}
	return err
}
