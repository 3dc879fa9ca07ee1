package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

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
	loadRecipients := func() ([]age.Recipient, error) { return secret.Recipients(a.path(recipients), a.workspaceRoot) }

	var output string
	keygen := &cobra.Command{
		Use:   "keygen",
		Short: "Make an age identity and print its public key",
		Long: `keygen writes a new age identity to ferry/age.key in your config folder (or
--output FILE), readable only by you, and prints its public key: add that line
to the recipients file so that others can encrypt secrets for you.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, path, err := secret.NewIdentity(a.path(output))
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\n", pub)
			fmt.Fprintf(a.stderr, "wrote the identity to %s; add the public key above to %s\n", path, secret.RecipientsFile)
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
			return secret.WriteEncrypted(a.path(args[0]), args[0], plain, rs)
		},
	}
	encrypt.Flags().StringVar(&input, "in", "", "read the plaintext from `FILE` instead of standard input")
	rflag(encrypt)

	decrypt := &cobra.Command{
		Use:   "decrypt FILE.age",
		Short: "Print the decrypted content of FILE.age",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plain, err := secret.DecryptFile(a.path(args[0]), args[0], a.identity)
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
			outcome, err := secret.Edit(cmd.Context(), a.path(args[0]), args[0], a.identity, rs)
			if msg := outcome.Message(args[0]); err == nil && msg != "" {
				fmt.Fprintln(a.stderr, msg)
			}
			return err
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
				if err := secret.Rekey(a.path(file), file, a.identity, rs); err != nil {
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
			secret.RemoveLeftoverEdits(a.stderr)
			return run(cmd, args)
		}
	}
	return cmd
}

// redactDeclared reads the secrets of every rule of the workspace, so
// that output ferry shows without running the rules (logs, exec, status)
// is redacted too, and the values the project's containers hold for them,
// which differ after a rotation and are there even when a secret's source
// is not. It fails when ferry.star cannot be evaluated: without it, ferry
// cannot know what to hide.
func (a *app) redactDeclared(ctx context.Context) error {
	l, err := a.load(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w\n(this command evaluates ferry.star to learn which secrets to hide from what it shows: fix it and run the command again)", err)
	}
	secret.RevealDeclared(ctx, l.Graph, deploy.HeldSecrets, a.redactor.Add, func(format string, args ...any) {
		a.bus.Logf(engine.LevelWarn, format, args...)
	})
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
