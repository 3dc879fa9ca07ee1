// Package platform holds what differs between the systems ferry runs on:
// the few system calls that have no portable form (opening a file without
// following a link, locking a file, a file's owner), and, in one place, the
// features a system lacks and what ferry does instead (Gaps). Linux has
// every feature; docs/platforms.md says the same for users.
package platform

import (
	"fmt"
	"io"
	"runtime"
	"sync"
)

// A Feature is something ferry does on Linux that another system may
// lack.
type Feature string

const (
	// Subreaper: processes that a command leaves behind outside its
	// process group (setsid, a double fork) are killed when it exits.
	Subreaper Feature = "killing what a command leaves behind"
	// Commands: rules that run commands (sh(), exec, serve rules), under
	// ferry's process supervisor.
	Commands Feature = "running commands"
	// SecretFiles: secret_files of a service, kept on a tmpfs of the host.
	SecretFiles Feature = "secret_files"
	// SecretEdit: `ferry secret edit`, which decrypts into a private
	// folder for an editor.
	SecretEdit Feature = "ferry secret edit"
	// SecretKey: secret() values, whose key file must be the user's own.
	SecretKey Feature = "secrets"
	// StateOwner: the check that the workspace's .ferry folder belongs to
	// the user running ferry.
	StateOwner Feature = "the owner check of the .ferry folder"
	// WatchOwnOutput: ferry watch ignores its own output when it is
	// redirected to a file in the workspace.
	WatchOwnOutput Feature = "ignoring ferry watch's own output file"
	// TerminalResize: ferry exec -t follows the size of the terminal.
	TerminalResize Feature = "following the terminal's size in ferry exec"
	// MemoryCap: a memory cap sized from the machine's physical memory.
	MemoryCap Feature = "the memory cap from physical memory"
)

// A Gap is a feature the running system lacks.
type Gap struct {
	Feature Feature
	// Why says what the system lacks, and Instead what ferry does: it
	// refuses the feature (Refused) or does without it.
	Why, Instead string
	Refused      bool
}

// gaps lists, per system, what it lacks. Linux lacks nothing.
var gaps = map[string][]Gap{
	"darwin": {
		{Feature: Subreaper, Why: "macOS has no child subreaper", Instead: "a process that leaves its command's process group (setsid, a double fork) is not killed when the command ends: stop it yourself"},
		{Feature: SecretFiles, Why: "the Docker Engine runs in a VM whose bind mounts of host folders keep files on a disk", Instead: "refused: pass the secrets in env", Refused: true},
		{Feature: MemoryCap, Why: "ferry reads the physical memory from Linux's /proc", Instead: "the memory cap is its ceiling"},
	},
	"windows": {
		{Feature: Commands, Why: "ferry's process supervisor needs Unix process groups, signals and /bin/sh", Instead: "refused: run ferry under WSL 2 for rules that run commands; services and images work", Refused: true},
		{Feature: SecretKey, Why: "ferry cannot yet check that the key file and its folder are yours", Instead: "refused: use secrets under WSL 2", Refused: true},
		{Feature: SecretEdit, Why: "it needs a private (0700) folder, a lock on it and /bin/sh", Instead: "refused: decrypt, edit and encrypt under WSL 2", Refused: true},
		{Feature: SecretFiles, Why: "the Docker Engine runs in a VM whose bind mounts of host folders keep files on a disk", Instead: "refused: pass the secrets in env", Refused: true},
		{Feature: StateOwner, Why: "Windows files have no Unix owner", Instead: "not checked: keep workspaces in your own profile"},
		{Feature: WatchOwnOutput, Why: "Windows gives no file identity in a file's stat", Instead: "redirect ferry watch's output to a file outside the workspace, or each line written is a change"},
		{Feature: TerminalResize, Why: "Windows has no SIGWINCH", Instead: "the command keeps the size the terminal had when it started"},
		{Feature: MemoryCap, Why: "ferry reads the physical memory from Linux's /proc", Instead: "the memory cap is its ceiling"},
	},
}

// Gaps returns what the system goos lacks; nil for Linux.
func Gaps(goos string) []Gap {
	if g, ok := gaps[goos]; ok {
		return g
	}
	if goos == "linux" {
		return nil
	}
	// Another Unix (FreeBSD, ...): as macOS, which shares its code.
	return gaps["darwin"]
}

// gap returns the gap of the system goos for f.
func gap(goos string, f Feature) (Gap, bool) {
	for _, g := range Gaps(goos) {
		if g.Feature == f {
			return g, true
		}
	}
	return Gap{}, false
}

// Line says in one line that the system goos lacks g's feature, and what
// ferry does instead.
func (g Gap) Line(goos string) string {
	return fmt.Sprintf("no %s on %s (%s): %s", g.Feature, goos, g.Why, g.Instead)
}

// Unsupported returns the error that refuses f on the running system, and
// nil where f is available. Call it where the feature starts.
func Unsupported(f Feature) error { return unsupported(runtime.GOOS, f) }

func unsupported(goos string, f Feature) error {
	g, ok := gap(goos, f)
	if !ok || !g.Refused {
		return nil
	}
	return fmt.Errorf("%s is not available on %s: %s; %s (see docs/platforms.md)", f, goos, g.Why, g.Instead)
}

var warned sync.Map // Feature → true once warned

// Warn writes one line to w, once per process, that the running system
// lacks f and what ferry does instead; nothing where f is available.
func Warn(w io.Writer, f Feature) { warn(w, runtime.GOOS, f) }

func warn(w io.Writer, goos string, f Feature) {
	g, ok := gap(goos, f)
	if !ok || g.Refused {
		return
	}
	if _, done := warned.LoadOrStore(f, true); done {
		return
	}
	fmt.Fprintf(w, "ferry: warning: %s\n", g.Line(goos))
}
