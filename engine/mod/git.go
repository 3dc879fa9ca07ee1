package mod

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// git runs the git command line, so that credentials are found as git
// itself finds them (credential helpers, ssh keys and agents, .netrc).
// It never prompts on a terminal: a repository that needs a password
// fails with git's message instead of hanging while ferry holds a lock.
//
// With no dir (ls-remote, init), git runs in an empty folder of its own,
// never in ferry's current folder: a folder of a repository laid out as a
// bare git repository would otherwise give git its config (a
// core.sshCommand, say), and git would run what it names.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ferry-git-")
		if err != nil {
			return nil, fmt.Errorf("git %s: %w", args[0], err)
		}
		defer os.RemoveAll(tmp)
		cmd.Dir = tmp
		cmd.Env = append(cmd.Env, "GIT_CEILING_DIRECTORIES="+filepath.Dir(tmp))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}

// remoteTags lists the tags of the repository at url with the commits
// they point to (annotated tags peeled).
func remoteTags(ctx context.Context, url string) (map[string]string, error) {
	out, err := git(ctx, "", "ls-remote", "--tags", "--", url)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	peeled := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(ref, "refs/tags/") {
			continue
		}
		name := strings.TrimPrefix(ref, "refs/tags/")
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			tags[base], peeled[base] = sha, true
		} else if !peeled[name] {
			tags[name] = sha
		}
	}
	return tags, nil
}

// semverTags returns the semver tags among tags, highest first.
func semverTags(tags map[string]string) []string {
	var out []string
	for t := range tags {
		if semver.IsValid(t) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return semver.Compare(b, a) })
	return out
}

// fetchInto brings commit (the commit of version) into the bare mirror
// dir from url: the tag alone, shallow, when version is a tag; the commit
// alone when the server allows it; otherwise every branch and tag.
func fetchInto(ctx context.Context, dir, url, version, commit string) error {
	if has(ctx, dir, commit) {
		return nil
	}
	var err error
	if !IsCommit(version) {
		_, err = git(ctx, dir, "fetch", "-q", "--depth=1", "--no-tags", "--", url, "+refs/tags/"+version+":refs/tags/"+version)
	} else {
		_, err = git(ctx, dir, "fetch", "-q", "--depth=1", "--no-tags", "--", url, commit)
	}
	if err == nil && has(ctx, dir, commit) {
		return nil
	}
	args := []string{"fetch", "-q", "--no-tags"}
	if out, _ := git(ctx, dir, "rev-parse", "--is-shallow-repository"); strings.TrimSpace(string(out)) == "true" {
		args = append(args, "--unshallow")
	}
	if _, err := git(ctx, dir, append(args, "--", url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")...); err != nil {
		return err
	}
	if !has(ctx, dir, commit) {
		return fmt.Errorf("commit %s is not on any branch or tag of %s", commit, url)
	}
	return nil
}

func has(ctx context.Context, dir, commit string) bool {
	_, err := git(ctx, dir, "cat-file", "-e", commit+"^{commit}")
	return err == nil
}
