package image

// Live update through the selected deploy target: when it is a
// deploy.LiveUpdater (Kubernetes), the changed files reach its replicas
// through it; otherwise the containers of the local Docker Engine are
// updated directly (liveTargets, syncInto, runStep).

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// liveUpdater returns the selected deploy target when it can update its
// replicas in place, else nil: live updates then go to the Engine's
// containers.
func (i *Image) liveUpdater() deploy.LiveUpdater {
	if i.images == nil || i.images.target == nil {
		return nil
	}
	lu, _ := i.images.target().(deploy.LiveUpdater)
	return lu
}

// applyLiveTo copies files into every replica of lu running img (as the
// build of rc.PrevKey), then runs the steps the changes trigger.
func (i *Image) applyLiveTo(rc *engine.RunContext, lu deploy.LiveUpdater, img *dockerapi.Image, files []syncFile, start time.Time) error {
	reps, err := lu.LiveReplicas(rc, i.project(rc.Workspace), deploy.LiveImage{ID: img.ID, Ref: i.Ref(rc.PrevKey), RepoDigests: img.RepoDigests})
	if err != nil {
		return err
	}
	if len(reps) == 0 {
		return fallBack("no service of the environment runs %s", i.Ref(rc.PrevKey))
	}
	for _, r := range reps {
		if i.synced.noTar(r.Service()) {
			return fallBack("the image of service %s has no tar", r.Service())
		}
	}
	todo := make([][]syncFile, len(reps))
	var phases phaseTimes
	for n, r := range reps {
		todo[n] = i.synced.pending(r.ID(), files)
		if len(todo[n]) == 0 {
			continue
		}
		t := time.Now()
		if err := i.syncIntoReplica(rc, r, todo[n]); err != nil {
			return err
		}
		phases.add("sync", time.Since(t))
		fmt.Fprintf(rc.Stdout, "synced %s into %s\n", countFiles(todo[n]), r.Name())
	}
	for _, s := range i.live {
		if s.kind == "sync" || s.kind == "fall_back_on" {
			continue
		}
		for n, r := range reps {
			if len(todo[n]) == 0 || !s.triggered(localPaths(todo[n])) {
				continue
			}
			t := time.Now()
			if err := i.runStepIn(rc, s, r); err != nil {
				return err
			}
			phases.add(stepPhase[s.kind], time.Since(t))
		}
	}
	for n, r := range reps {
		i.synced.done(r.ID(), todo[n])
	}
	fmt.Fprintf(rc.Stdout, "live update of %d replica(s) done in %s%s\n", len(reps), time.Since(start).Round(time.Millisecond), phases)
	return engine.ErrLiveUpdated
}

// syncIntoReplica deletes the removed files from r and extracts the others
// there, through the replica's tar. An image without tar is said once, by
// service, and falls back to a rollout.
func (i *Image) syncIntoReplica(rc *engine.RunContext, r deploy.LiveReplica, files []syncFile) error {
	var gone []string
	for _, f := range files {
		if f.gone {
			gone = append(gone, f.dest)
		}
	}
	if len(gone) > 0 {
		code, err := r.Exec(rc, append([]string{"rm", "-f", "--"}, gone...), rc.Stdout, rc.Stderr)
		switch {
		case errors.Is(err, deploy.ErrNoProgram):
			return fallBack("%s was deleted, and the image of %s has no rm to delete it from the running replica", gone[0], r.Name())
		case err != nil:
			return err
		case code != 0:
			return fmt.Errorf("rm -f %s in %s exited with code %d", strings.Join(gone, " "), r.Name(), code)
		}
	}
	if len(gone) == len(files) {
		return nil
	}
	// The files are the user's the replica runs as: tar run by another
	// user than root cannot give them away.
	var buf bytes.Buffer
	if err := i.syncTar(&buf, files, 0, 0); err != nil {
		return err
	}
	err := r.Extract(rc, &buf)
	if errors.Is(err, deploy.ErrNoTar) {
		i.synced.setNoTar(r.Service())
		return fallBack("service %s runs image %s, which has no tar program to extract the synced files with (%v); "+
			"live update on this environment needs tar in the image (an image FROM a base with tar, such as alpine or busybox, or a static tar copied in), "+
			"so every change to this image is rolled out instead until ferry watch restarts", r.Service(), r.Image(), err)
	}
	return err
}

// runStepIn runs a triggered run, signal or restart_container step in r.
// A step the target cannot do in place falls back to a rollout.
func (i *Image) runStepIn(rc *engine.RunContext, s *step, r deploy.LiveReplica) error {
	var err error
	switch s.kind {
	case "run":
		fmt.Fprintf(rc.Stdout, "running %s in %s\n", strings.Join(s.argv, " "), r.Name())
		var code int
		code, err = r.Exec(rc, s.argv, rc.Stdout, rc.Stderr)
		switch {
		case errors.Is(err, deploy.ErrNoProgram):
			return fmt.Errorf("live update: run(%s) (%s) could not start in %s: %v; the image must contain the program (FROM scratch images hold only what the Dockerfile copies in)", argvText(s.argv), s.pos, r.Name(), err)
		case err != nil:
			return fmt.Errorf("live update: run(%s) (%s) in %s: %w", argvText(s.argv), s.pos, r.Name(), err)
		case code != 0:
			return fmt.Errorf("live update: run(%s) (%s) exited with code %d in %s; the synced files are in place: fix the command or the files, and the next change tries again", argvText(s.argv), s.pos, code, r.Name())
		}
		return nil
	case "signal":
		if err = r.Signal(rc, s.signal); err == nil {
			fmt.Fprintf(rc.Stdout, "sent SIG%s to %s\n", s.signal, r.Name())
		}
	case "restart_container":
		if err = r.Restart(rc); err == nil {
			fmt.Fprintf(rc.Stdout, "restarted %s\n", r.Name())
		}
	}
	if errors.Is(err, deploy.ErrLiveUnsupported) {
		return fallBack("%s (%s) in %s: %v", s.kind, s.pos, r.Name(), err)
	}
	if err != nil {
		return fmt.Errorf("live update: %s (%s) in %s: %w", s.kind, s.pos, r.Name(), err)
	}
	return nil
}
