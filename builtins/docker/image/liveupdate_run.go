package image

// Live update at run time: copying changed files into the running
// containers of an image, and running the steps they trigger.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// liveClient is what live update needs from the Docker Engine, on top of
// building images.
type liveClient interface {
	// Containers lists the containers carrying every label given.
	Containers(ctx context.Context, labels map[string]string) ([]dockerapi.Container, error)
	// ContainerInfo inspects a container's definition.
	ContainerInfo(ctx context.Context, id string) (dockerapi.ContainerInfo, error)
	// InspectContainer returns a container's state.
	InspectContainer(ctx context.Context, id string) (dockerapi.ContainerState, error)
	// CopyToContainer extracts a tar stream into the container at dir.
	CopyToContainer(ctx context.Context, id, dir string, tarStream io.Reader) error
	// Exec runs a program in a running container and returns its exit code.
	Exec(ctx context.Context, id string, s dockerapi.ExecSpec) (int, error)
	// ReadContainerFile returns (at most limit bytes of) a file in a container.
	ReadContainerFile(ctx context.Context, id, name string, limit int64) ([]byte, error)
	// KillContainer signals the container's main process.
	KillContainer(ctx context.Context, id, signal string) error
	// RestartContainer restarts a container.
	RestartContainer(ctx context.Context, id string) error
}

// A syncFile is one changed file of a live update.
type syncFile struct {
	local string // workspace-relative
	dest  string // absolute, in the container
	gone  bool   // deleted from the workspace
	body  []byte
	mode  fs.FileMode
	mtime time.Time
	sum   string // of the contents, or "" when gone
}

// synced remembers, for each container, the contents it was given by live
// updates during this evaluation (and the owner of its user), so that each live update copies only
// what a container lacks and triggers steps only for files new to it: a
// container that replaced another (from the same image) gets every file
// changed since the image was built. It is shared by the image's runs.
type synced struct {
	mu      sync.Mutex
	sum     map[string]map[string]string // container ID → path → sum
	owner   map[string][2]int            // container ID → uid, gid of its user
	tarless map[string]bool              // services whose image has no tar (see syncIntoReplica)
}

// noTar reports whether service was found to run an image without tar.
func (s *synced) noTar(service string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tarless[service]
}

// setNoTar records that service runs an image without tar.
func (s *synced) setNoTar(service string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tarless == nil {
		s.tarless = map[string]bool{}
	}
	s.tarless[service] = true
}

// pending returns the files container id lacks.
func (s *synced) pending(id string, files []syncFile) []syncFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []syncFile
	for _, f := range files {
		if have, ok := s.sum[id][f.local]; !ok || have != f.sum {
			out = append(out, f)
		}
	}
	return out
}

// done records that container id has files.
func (s *synced) done(id string, files []syncFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sum == nil {
		s.sum = map[string]map[string]string{}
	}
	if s.sum[id] == nil {
		s.sum[id] = map[string]string{}
	}
	for _, f := range files {
		s.sum[id][f.local] = f.sum
	}
}

// errFallBack wraps the reason a live update cannot apply, so the image is
// rebuilt (and its services replaced) instead.
type errFallBack struct{ reason string }

func (e *errFallBack) Error() string { return e.reason }

func fallBack(format string, args ...any) error {
	return &errFallBack{reason: fmt.Sprintf(format, args...)}
}

// liveUpdate updates the running containers of the services using the
// image of rc.PrevKey in place, when every path changed since that build
// lies under a sync source and none under fall_back_on. It returns
// engine.ErrLiveUpdated when it did; nil when the image must be built
// (having said why, when it is not obvious); any other error when a
// triggered step failed.
func (i *Image) liveUpdate(rc *engine.RunContext) error {
	err := i.depsLive(rc.DepsChanged)
	var files []syncFile
	if err == nil {
		files, err = i.syncFiles(rc.Changed)
	}
	if err == nil {
		err = i.applyLive(rc, files)
	}
	var fb *errFallBack
	if errors.As(err, &fb) {
		fmt.Fprintf(rc.Stdout, "live update not possible: %s; building the image instead\n", fb.reason)
		return nil
	}
	return err
}

// depsLive returns an *errFallBack when a dep whose key changed is another
// image: what that changed is in no file of the context. A task that
// wrote into the context (a binary it compiled) shows in the changed
// files instead, which the sync steps must cover.
func (i *Image) depsLive(changed []string) error {
	for _, d := range changed {
		for _, r := range i.images.all() {
			if r != i && r.info.Name == d {
				return fallBack("the image %s it depends on changed", d)
			}
		}
	}
	return nil
}

// syncFiles maps the changed paths to the files to copy or delete.
func (i *Image) syncFiles(changed []string) ([]syncFile, error) {
	var fallBackOn []string
	var syncs []*step
	for _, s := range i.live {
		switch s.kind {
		case "fall_back_on":
			fallBackOn = append(fallBackOn, s.paths...)
		case "sync":
			syncs = append(syncs, s)
		}
	}
	var out []syncFile
	for _, p := range changed {
		if p == i.dockerfile || p == path.Join(i.context, ".dockerignore") {
			return nil, fallBack("%s changed", p)
		}
		for _, f := range fallBackOn {
			if under(p, f) {
				return nil, fallBack("%s changed, and fall_back_on lists %s", p, f)
			}
		}
		var to *step // the innermost sync source holding p
		for _, s := range syncs {
			if under(p, s.src) && (to == nil || len(s.src) > len(to.src)) {
				to = s
			}
		}
		if to == nil {
			return nil, fallBack("%s changed, and no sync step covers it", p)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, to.src), "/")
		f := syncFile{local: p, dest: path.Join(to.dest, rel)}
		fi, err := i.ws.Tree().Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			f.gone = true
		case err != nil:
			return nil, err
		case !fi.Mode().IsRegular():
			return nil, fallBack("%s is not a regular file", p)
		default:
			if f.body, err = i.ws.Tree().ReadFile(p); err != nil {
				return nil, err
			}
			f.mode, f.mtime = fi.Mode().Perm(), fi.ModTime()
			f.sum = fmt.Sprintf("%x", sha256.Sum256(f.body))
		}
		out = append(out, f)
	}
	return out, nil
}

// applyLive copies files into every running container of the image of
// rc.PrevKey, then runs the steps the changes trigger.
func (i *Image) applyLive(rc *engine.RunContext, files []syncFile) error {
	start := time.Now()
	img, err := i.lookup(rc, rc.PrevKey)
	if err != nil {
		return err
	}
	if img == nil {
		return fallBack("the image of the last build, %s, is no longer in the Docker Engine", i.Ref(rc.PrevKey))
	}
	if lu := i.liveUpdater(); lu != nil {
		return i.applyLiveTo(rc, lu, img, files, start)
	}
	targets, err := i.liveTargets(rc, img.ID)
	if err != nil {
		return err
	}
	// Rollouts, scale steps and restarts of these services wait until the
	// files are synced and the steps run, and those wait for them: the
	// containers are listed again under the services' locks.
	services := make([]string, len(targets))
	for n, c := range targets {
		services[n] = c.Labels[objects.LabelRule]
	}
	defer objects.LockServices(i.project(rc.Workspace), services...)()
	if targets, err = i.liveTargets(rc, img.ID); err != nil {
		return err
	}
	todo := make([][]syncFile, len(targets))
	var phases phaseTimes
	for n, c := range targets {
		todo[n] = i.synced.pending(c.ID, files)
		if len(todo[n]) == 0 {
			continue
		}
		t := time.Now()
		if err := i.syncInto(rc, c, todo[n]); err != nil {
			return i.whyFailed(rc, c, start, err)
		}
		phases.add("sync", time.Since(t))
		fmt.Fprintf(rc.Stdout, "synced %s into %s\n", countFiles(todo[n]), c.Name)
	}
	for _, s := range i.live {
		if s.kind == "sync" || s.kind == "fall_back_on" {
			continue
		}
		for n, c := range targets {
			if len(todo[n]) == 0 || !s.triggered(localPaths(todo[n])) {
				continue
			}
			t := time.Now()
			if err := i.runStep(rc, s, c); err != nil {
				return i.whyFailed(rc, c, start, err)
			}
			phases.add(stepPhase[s.kind], time.Since(t))
		}
	}
	// Only now: after a failed step, the next live update copies the files
	// again and runs the steps they trigger again.
	for n, c := range targets {
		i.synced.done(c.ID, todo[n])
	}
	fmt.Fprintf(rc.Stdout, "live update of %d container(s) done in %s%s\n", len(targets), time.Since(start).Round(time.Millisecond), phases)
	return engine.ErrLiveUpdated
}

// stepPhase names the phase of a live update each kind of step is part of.
var stepPhase = map[string]string{"run": "run", "signal": "signal", "restart_container": "restart"}

// phaseTimes adds up the time a live update spent in each phase (sync,
// run, signal, restart), in the order they began.
type phaseTimes struct {
	names []string
	took  map[string]time.Duration
}

func (p *phaseTimes) add(phase string, d time.Duration) {
	if p.took == nil {
		p.took = map[string]time.Duration{}
	}
	if _, ok := p.took[phase]; !ok {
		p.names = append(p.names, phase)
	}
	p.took[phase] += d
}

// String is ": sync 80ms, restart 1.1s", or empty when nothing was done.
func (p phaseTimes) String() string {
	if len(p.names) == 0 {
		return ""
	}
	parts := make([]string, len(p.names))
	for n, name := range p.names {
		parts[n] = name + " " + p.took[name].Round(time.Millisecond).String()
	}
	return ": " + strings.Join(parts, ", ")
}

// liveTargets lists the running containers of the workspace's services
// made from image id; a container of one that is not running, and no
// container at all, are reasons to fall back.
func (i *Image) liveTargets(rc *engine.RunContext, id string) ([]dockerapi.Container, error) {
	list, err := i.docker.Containers(rc, map[string]string{objects.LabelProject: i.project(rc.Workspace), objects.LabelKind: "service"})
	if err != nil {
		return nil, err
	}
	var targets []dockerapi.Container
	owner := deploy.OwnerOf(rc.Workspace.Root)
	for _, c := range list {
		if c.ImageID != id || objects.IsForeign(owner, c.Labels) {
			continue
		}
		if c.State != "running" {
			return nil, fallBack("container %s is %s (%s), so ferry replaces it", c.Name, c.State, strings.ToLower(c.Status))
		}
		targets = append(targets, c)
	}
	if len(targets) == 0 {
		return nil, fallBack("no service runs %s", i.Ref(rc.PrevKey))
	}
	return targets, nil
}

// localPaths returns the workspace paths of files.
func localPaths(files []syncFile) []string {
	out := make([]string, len(files))
	for n, f := range files {
		out[n] = f.local
	}
	return out
}

// countFiles says how many files a live update copies and deletes.
func countFiles(files []syncFile) string {
	copied, deleted := 0, 0
	for _, f := range files {
		if f.gone {
			deleted++
		} else {
			copied++
		}
	}
	s := fmt.Sprintf("%d file(s)", copied)
	if deleted > 0 {
		s += fmt.Sprintf(" (and %d deletion(s))", deleted)
	}
	return s
}

// whyFailed turns the error of a step in container c into a fall back when
// c stopped (or its restart policy restarted it) since the live update
// began at start: its service is then replaced by the rebuild.
func (i *Image) whyFailed(rc *engine.RunContext, c dockerapi.Container, start time.Time, err error) error {
	var fb *errFallBack
	if errors.As(err, &fb) || rc.Err() != nil {
		return err
	}
	// A step killed with its container may end before the Engine records
	// that the container stopped: look for a little while.
	for deadline := time.Now().Add(stopSettle); ; time.Sleep(stopSettle / 10) {
		st, ierr := i.docker.InspectContainer(context.WithoutCancel(rc), c.ID)
		switch {
		case ierr != nil:
			return fallBack("container %s went away during the live update (%v)", c.Name, err)
		case !st.Running || st.Restarting || st.StartedAt.After(start):
			return fallBack("container %s stopped during the live update (exit code %d; %v)", c.Name, st.ExitCode, err)
		case time.Now().After(deadline):
			return err
		}
	}
}

// stopSettle is how long a failed step waits to tell whether its container
// stopped.
const stopSettle = 500 * time.Millisecond

// argvText shows a run step's argv as in ferry.star.
func argvText(argv []string) string {
	q := make([]string, len(argv))
	for n, a := range argv {
		q[n] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// syncInto deletes the removed files from container c and copies the
// others in, owned by the container's user.
func (i *Image) syncInto(rc *engine.RunContext, c dockerapi.Container, files []syncFile) error {
	var gone []string
	for _, f := range files {
		if f.gone {
			gone = append(gone, f.dest)
		}
	}
	if len(gone) > 0 {
		// As root, as the copy writes: the image's files may be root's.
		code, err := i.docker.Exec(rc, c.ID, dockerapi.ExecSpec{Cmd: append([]string{"rm", "-f", "--"}, gone...), User: "0", Stdout: rc.Stdout, Stderr: rc.Stderr})
		var se *dockerapi.ExecStartError
		switch {
		case errors.As(err, &se):
			return fallBack("%s was deleted, and the image of %s has no rm to delete it from the running container (%s)", gone[0], c.Name, se.Message)
		case err != nil:
			return err
		case code != 0:
			return fmt.Errorf("rm -f %s in %s exited with code %d", strings.Join(gone, " "), c.Name, code)
		}
	}
	if len(gone) == len(files) {
		return nil
	}
	uid, gid, err := i.owner(rc, c.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := i.syncTar(&buf, files, uid, gid); err != nil {
		return err
	}
	err = i.docker.CopyToContainer(rc, c.ID, "/", &buf)
	if errors.Is(err, dockerapi.ErrReadOnlyRootfs) {
		return fallBack("%s has a read-only root filesystem (read_only = True), which live update cannot copy into", c.Name)
	}
	return err
}

// syncTar writes a tar of the files that still exist, at their paths in
// the container relative to /, owned by uid:gid, with an entry for every
// folder from the sync destination down, so missing ones are created with
// that owner.
func (i *Image) syncTar(w io.Writer, files []syncFile, uid, gid int) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	dirs := map[string]bool{}
	var dests []string
	for _, s := range i.live {
		if s.kind == "sync" {
			dests = append(dests, s.dest)
		}
	}
	for _, f := range files {
		if f.gone {
			continue
		}
		for _, d := range parentsBelow(f.dest, dests) {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Uid: uid, Gid: gid, ModTime: now}); err != nil {
				return err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.dest, "/"), Mode: int64(f.mode), Size: int64(len(f.body)), Uid: uid, Gid: gid, ModTime: f.mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	return tw.Close()
}

// parentsBelow returns the folders of file from the sync destination that
// holds it down to its own folder, outermost first. A file synced to a
// destination of its own has none.
func parentsBelow(file string, dests []string) []string {
	root := ""
	for _, d := range dests {
		if strings.HasPrefix(file, d+"/") && len(d) > len(root) {
			root = d
		}
	}
	if root == "" {
		return nil
	}
	var out []string
	for d := path.Dir(file); len(d) >= len(root); d = path.Dir(d) {
		out = append([]string{d}, out...)
		if d == root {
			break
		}
	}
	return out
}

// runStep runs a triggered run, signal or restart_container step in c.
func (i *Image) runStep(rc *engine.RunContext, s *step, c dockerapi.Container) error {
	switch s.kind {
	case "run":
		fmt.Fprintf(rc.Stdout, "running %s in %s\n", strings.Join(s.argv, " "), c.Name)
		code, err := i.docker.Exec(rc, c.ID, dockerapi.ExecSpec{Cmd: s.argv, Stdout: rc.Stdout, Stderr: rc.Stderr})
		var se *dockerapi.ExecStartError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("live update: run(%s) (%s) could not start in %s: %s; the image must contain the program (FROM scratch images hold only what the Dockerfile copies in)", argvText(s.argv), s.pos, c.Name, se.Message)
		case err != nil:
			return fmt.Errorf("live update: run(%s) (%s) in %s: %w", argvText(s.argv), s.pos, c.Name, err)
		case code != 0:
			return fmt.Errorf("live update: run(%s) (%s) exited with code %d in %s; the synced files are in place: fix the command or the files, and the next change tries again", argvText(s.argv), s.pos, code, c.Name)
		}
	case "signal":
		if err := i.docker.KillContainer(rc, c.ID, s.signal); err != nil {
			return fmt.Errorf("live update: signal(%q) (%s) to %s: %w", s.signal, s.pos, c.Name, err)
		}
		fmt.Fprintf(rc.Stdout, "sent SIG%s to %s\n", s.signal, c.Name)
	case "restart_container":
		if err := i.docker.RestartContainer(rc, c.ID); err != nil {
			return fmt.Errorf("live update: restart_container() (%s) of %s: %w", s.pos, c.Name, err)
		}
		fmt.Fprintf(rc.Stdout, "restarted %s\n", c.Name)
	}
	return nil
}
