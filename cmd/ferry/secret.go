package main

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
	"regexp"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

// recipientsFile is the default recipients file, at the workspace root.
const recipientsFile = "ferry.recipients"

func (a *app) secretCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Make age keys, and encrypt, decrypt and edit secret files",
		Long: `Secrets committed to the repository are age-encrypted files, read with
secret("name", encrypted = "secrets/name.age"). Each person has an age identity
(ferry secret keygen); the recipients file (ferry.recipients at the workspace
root, or --recipients) lists the public keys of everyone who may read them.
To let someone in, add their public key to it and run ferry secret rekey on
the files, from an account that can read them. See docs/secrets.md.`,
	}
	var recipients string
	rflag := func(c *cobra.Command) {
		c.Flags().StringVar(&recipients, "recipients", "", "`FILE` of age public keys to encrypt for, one per line (default: ferry.recipients at the workspace root)")
	}
	loadRecipients := func() ([]age.Recipient, error) {
		path := a.path(recipients)
		if path == "" {
			root, err := a.workspaceRoot()
			if err != nil {
				return nil, err
			}
			path = filepath.Join(root, recipientsFile)
		}
		return secret.ParseRecipients(path)
	}

	var output string
	keygen := &cobra.Command{
		Use:   "keygen",
		Short: "Make an age identity and print its public key",
		Long: `keygen writes a new age identity to ferry/age.key in your config folder (or
--output FILE), readable only by you, and prints its public key: add that line
to the recipients file so that others can encrypt secrets for you.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := a.path(output)
			if path == "" {
				var err error
				if path, err = secret.KeyFile(); err != nil {
					return err
				}
			}
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists: keygen does not replace an identity; give --output FILE for another", path)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f, "# public key: %s\n%s\n", id.Recipient(), id)
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\n", id.Recipient())
			fmt.Fprintf(a.stderr, "wrote the identity to %s; add the public key above to %s\n", path, recipientsFile)
			return nil
		},
	}
	keygen.Flags().StringVarP(&output, "output", "o", "", "write the identity to `FILE`")

	var input string
	encrypt := &cobra.Command{
		Use:   "encrypt FILE.age",
		Short: "Encrypt standard input (or --in FILE) to FILE.age for the recipients",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := loadRecipients()
			if err != nil {
				return err
			}
			var plain []byte
			if input != "" {
				plain, err = os.ReadFile(a.path(input))
			} else {
				plain, err = io.ReadAll(cmd.InOrStdin())
			}
			if err != nil {
				return err
			}
			return encryptTo(a.path(args[0]), args[0], plain, rs)
		},
	}
	encrypt.Flags().StringVar(&input, "in", "", "read the plaintext from `FILE` instead of standard input")
	rflag(encrypt)

	decrypt := &cobra.Command{
		Use:   "decrypt FILE.age",
		Short: "Print the decrypted content of FILE.age",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plain, err := a.decrypt(args[0])
			if err != nil {
				return err
			}
			// The redactor does not know this value: decrypt shows it on purpose.
			_, err = cmd.OutOrStdout().Write(plain)
			return err
		},
	}

	edit := &cobra.Command{
		Use:   "edit FILE.age",
		Short: "Decrypt FILE.age to a private temporary file, open $EDITOR, and encrypt the result",
		Long: `edit decrypts FILE.age (or starts empty when it does not exist) into a file in
a private folder (on /dev/shm when there is one, so it stays in memory), runs
$EDITOR (else vi) on it, encrypts what you saved for the recipients, and
removes the plaintext, also when ferry is stopped by Ctrl-C, SIGTERM, SIGHUP
or SIGQUIT. Only SIGKILL leaves it behind: the next ferry secret command
removes such a folder of yours, once no edit holds it, and says so. Content
saved unchanged is left as it was: to encrypt a file again for the
recipients as they are now, use ferry secret rekey.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := loadRecipients()
			if err != nil {
				return err
			}
			path := a.path(args[0])
			var plain []byte
			if _, err = os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				plain, err = a.decrypt(args[0])
			} else {
				// Found out now, not once the editing is done.
				err = checkFolder(path, args[0])
			}
			if err != nil {
				return err
			}
			edited, err := editPrivately(cmd, filepath.Base(strings.TrimSuffix(args[0], ".age")), plain)
			if err != nil {
				return err
			}
			switch {
			case bytes.Equal(edited, plain) && plain == nil:
				fmt.Fprintf(a.stderr, "%s not created: nothing was saved\n", args[0])
				return nil
			case bytes.Equal(edited, plain):
				fmt.Fprintf(a.stderr, "%s unchanged; to re-encrypt it for the current recipients, run `ferry secret rekey %s`\n", args[0], args[0])
				return nil
			}
			return encryptTo(path, args[0], edited, rs)
		},
	}
	rflag(edit)

	rekey := &cobra.Command{
		Use:   "rekey FILE.age...",
		Short: "Encrypt each FILE.age again for the recipients as they are now",
		Long: `rekey decrypts each FILE.age and encrypts its content again, unchanged, for
the recipients as they are now (ferry.recipients, or --recipients). Run it
after adding someone's public key, so that they can read the files, or after
removing one, so that the files are closed to that key from now on; the
versions in the repository's history stay readable to it, so rotate the
secrets a removed key could read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := loadRecipients()
			if err != nil {
				return err
			}
			for _, file := range args {
				plain, err := a.decrypt(file)
				if err != nil {
					return err
				}
				if err := encryptTo(a.path(file), file, plain, rs); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "re-encrypted %s for the current recipients\n", file)
			}
			return nil
		},
	}
	rflag(rekey)

	cmd.AddCommand(keygen, encrypt, decrypt, edit, rekey)
	// Each of them first removes what an edit stopped by SIGKILL left.
	for _, c := range cmd.Commands() {
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			removeLeftoverEdits(a.stderr)
			return run(cmd, args)
		}
	}
	return cmd
}

// redactDeclared reads the secrets of every rule of the workspace, so that
// output ferry shows without running the rules (logs, exec, status) is
// redacted too, and the values the project's containers hold for them,
// which differ after a rotation and are there even when a secret's source
// is not. It fails when ferry.star cannot be evaluated: without it, ferry
// cannot know what to hide.
func (a *app) redactDeclared(ctx context.Context) error {
	l, err := a.load(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w\n(this command evaluates ferry.star to learn which secrets to hide from what it shows: fix it and run the command again)", err)
	}
	for _, n := range l.graph.Names() {
		r := l.graph.Rule(n)
		if dr, ok := r.(*deploy.Rule); ok && len(dr.Secrets()) > 0 {
			if t, ok := dr.Target().(deploy.SecretHolder); ok {
				err := t.HeldSecrets(ctx, dr, func(name, value string) {
					if err := a.redactor.Add(name, value); err != nil {
						a.bus.Logf(engine.LevelWarn, "%s %s: the value a container holds is not redacted: %v", dr.Info().Kind, n, err)
					}
				})
				if err != nil {
					a.bus.Logf(engine.LevelWarn, "%s %s: could not read the secret values its containers hold (%v); output that shows an older value of one is not redacted", dr.Info().Kind, n, err)
				}
			}
		}
		u, ok := r.(engine.SecretUser)
		if !ok {
			continue
		}
		for _, s := range u.Secrets() {
			if _, err := s.Reveal(ctx); err != nil && !errors.Is(err, engine.ErrSecretAbsent) {
				a.bus.Logf(engine.LevelWarn, "%v; output that shows its value is redacted only where the project's containers hold it", err)
			}
		}
	}
	return nil
}

// workspaceRoot is the root of the workspace ferry runs in, without
// evaluating it.
func (a *app) workspaceRoot() (string, error) {
	ws, err := engine.FindWorkspace(a.dir, a.file)
	if err != nil {
		return "", err
	}
	return ws.Root, nil
}

// decrypt decrypts file, given on the command line.
func (a *app) decrypt(file string) ([]byte, error) {
	ids, err := secret.Identities(a.identity)
	if err != nil {
		return nil, err
	}
	return secret.Decrypt(a.path(file), file, ids)
}

// encryptTo writes plain encrypted for rs to path (given on the command
// line as name), atomically.
func encryptTo(path, name string, plain []byte, rs []age.Recipient) error {
	if err := checkFolder(path, name); err != nil {
		return err
	}
	enc, err := secret.Encrypt(plain, rs)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ferry-secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(enc); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// checkFolder fails when the folder that path (given on the command line
// as name) goes in does not exist: ferry does not make it, lest a typo in
// the path leave the secret where nobody looks for it.
func checkFolder(path, name string) error {
	dir := filepath.Dir(name)
	fi, err := os.Stat(filepath.Dir(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: folder %s does not exist; create it (mkdir -p %s) or fix the path", name, dir, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %v", name, err)
	case !fi.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a folder; fix the path", name, dir)
	}
	return nil
}

// editBase is the folder in which edit makes its private folders: /dev/shm
// when there is one, so the plaintext stays in memory.
func editBase() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// editFolder matches the name of an edit's private folder,
// ferry-secret-PID-N, with the PID of the ferry that made it. (Folders
// named ferry-secret-N were made by a ferry that took no lock on them.)
var editFolder = regexp.MustCompile(`^ferry-secret-([0-9]+)-[0-9]+$`)

// editPrivately writes plain to a file in a new 0700 folder, runs the
// editor on it, and returns what was saved; the folder is always removed.
// It holds the folder locked meanwhile: the lock ends with the process,
// however it ends, which tells removeLeftoverEdits that a folder is left
// over (whatever PID namespace the edit ran in, and however its PID was
// reused since).
func editPrivately(cmd *cobra.Command, name string, plain []byte) ([]byte, error) {
	// Made as ferry-secret-PID.N and renamed once locked, so that no
	// removeLeftoverEdits sees it unlocked.
	base := editBase()
	made, err := os.MkdirTemp(base, fmt.Sprintf("ferry-secret-%d.", os.Getpid()))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, strings.Replace(filepath.Base(made), ".", "-", 1))
	lock, err := os.Open(made)
	if err == nil {
		if err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			err = os.Rename(made, dir)
		}
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		os.RemoveAll(made)
		return nil, err
	}
	defer lock.Close()
	defer os.RemoveAll(dir) // before the lock ends
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, plain, 0o600); err != nil {
		return nil, err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	// The editor gets the terminal itself. A signal that stops ferry kills
	// it, and the folder is removed on the way out.
	ed := exec.CommandContext(cmd.Context(), "/bin/sh", "-c", editor+` "$1"`, "sh", file)
	ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := ed.Run(); err != nil {
		return nil, fmt.Errorf("editor %q failed (%v): nothing was encrypted; set $EDITOR to an editor that exits 0 on save", editor, err)
	}
	return os.ReadFile(file)
}

// removeLeftoverEdits removes the private folders, each with a secret's
// plaintext in it, that an edit stopped by SIGKILL left behind, and says
// so on w. It takes only this user's folders, and only those that no edit
// holds locked, as a live one does.
func removeLeftoverEdits(w io.Writer) {
	base := editBase()
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := editFolder.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() { // not a link
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			what := fmt.Sprintf("the private folder of a `ferry secret edit` (process %s) that was killed before it could remove it, with a decrypted secret in it; last changed %s ago",
				m[1], time.Since(fi.ModTime()).Round(time.Second))
			if err := os.RemoveAll(dir); err != nil {
				fmt.Fprintf(w, "could not remove %s, %s: %v; remove it yourself\n", dir, what, err)
			} else {
				fmt.Fprintf(w, "removed %s, %s\n", dir, what)
			}
		}
		f.Close()
	}
}
