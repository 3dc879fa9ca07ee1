package local

// Operations on what a project runs and what its image rules built:
// ferry exec, restart, prune and down --rmi.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// Exec runs a command in a running replica of a service, through the
// Engine's exec API, and returns the command's exit code. A service that
// is not running, a replica that does not exist, and a program that the
// image lacks are errors that say what to do.
func (t *Target) Exec(ctx context.Context, r deploy.ExecRequest) (int, error) {
	if r.Replica == 0 {
		r.Replica = 1
	}
	if len(r.Cmd) == 0 {
		return 0, errors.New("no command given: put it after --, as in `ferry exec web -- ls /`")
	}
	c, err := t.replica(ctx, r.Project, r.Service, r.Replica, r.Declared)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	code, err := t.c.Exec(ctx, c.ID, execSpec(ctx, r))
	var se *dockerapi.ExecStartError
	if !errors.As(err, &se) {
		return code, err
	}
	info, ierr := t.c.ContainerInfo(ctx, c.ID)
	if ierr != nil {
		return code, fmt.Errorf("could not start %s in %s: %w", r.Cmd[0], c.Name, se)
	}
	if !se.NotFound {
		return code, fmt.Errorf("could not start %s in %s (image %s): %w", r.Cmd[0], c.Name, info.Image, se)
	}
	hint := "run a program that the image contains"
	if p := append(slices.Clone(info.Entrypoint), info.Cmd...); len(p) > 0 {
		hint += fmt.Sprintf(" (it starts with %s)", strings.Join(p, " "))
	}
	return code, fmt.Errorf("the image of %s (%s) has no program %q, so there is nothing to run (%w); "+
		"an image built FROM scratch holds only what its Dockerfile copies in, with no shell or tools: %s, "+
		"or copy a static busybox into the image to have a shell", c.Name, info.Image, se.Program, se, hint)
}

// execSpec is the Engine's exec of r; it passes r's terminal sizes on
// until ctx ends.
func execSpec(ctx context.Context, r deploy.ExecRequest) dockerapi.ExecSpec {
	s := dockerapi.ExecSpec{
		Cmd: r.Cmd, Env: r.Env, User: r.User, WorkingDir: r.WorkingDir, TTY: r.TTY,
		Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr,
		Size: dockerapi.TermSize{Height: r.Size.Height, Width: r.Size.Width},
	}
	if r.Resize == nil {
		return s
	}
	resize := make(chan dockerapi.TermSize, 1)
	s.Resize = resize
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case z := <-r.Resize:
				select {
				case resize <- dockerapi.TermSize{Height: z.Height, Width: z.Width}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return s
}

// replica finds the container of replica n of a service, and says why
// there is none running.
func (t *Target) replica(ctx context.Context, project, service string, n int, declared deploy.Declared) (dockerapi.Container, error) {
	t.changed(project)
	list, err := t.ruleContainers(ctx, project, service)
	if err != nil {
		return dockerapi.Container{}, err
	}
	if len(list) == 0 {
		return dockerapi.Container{}, t.noContainer(ctx, project, service, declared)
	}
	c, err := pickReplica(list, service, n, "--replica")
	switch {
	case err != nil:
		return dockerapi.Container{}, err
	case c.State == "running":
		return c, nil
	case c.Labels[labelKind] == "job":
		return dockerapi.Container{}, fmt.Errorf("%s is a job, which runs to completion during `ferry up`, and it is not running now; exec runs a command in a running service", service)
	case c.State == "restarting":
		return dockerapi.Container{}, fmt.Errorf("%s is restarting (%s): it keeps exiting; `ferry logs %s` shows why", c.Name, c.Status, service)
	}
	return dockerapi.Container{}, fmt.Errorf("%s is not running (%s); `ferry logs %s` shows why, and `ferry restart %s` or `ferry up %s` starts it again", c.Name, strings.ToLower(c.Status), service, service, service)
}

// pickReplica returns, among the containers of a service or job (list,
// not empty), the job's container or the service's replica n; choose
// says how to choose another replica ("--replica").
func pickReplica(list []dockerapi.Container, service string, n int, choose string) (dockerapi.Container, error) {
	if list[0].Labels[labelKind] == "job" {
		return list[0], nil
	}
	var have []int
	for _, c := range list {
		i, _ := strconv.Atoi(c.Labels[labelReplica])
		if i == n {
			return c, nil
		}
		have = append(have, i)
	}
	sort.Ints(have)
	nums := make([]string, len(have))
	for i, h := range have {
		nums[i] = strconv.Itoa(h)
	}
	which := "replica " + nums[0]
	if len(nums) > 1 {
		which = "replicas " + strings.Join(nums, ", ")
	}
	return dockerapi.Container{}, fmt.Errorf("service %s has no replica %d: it runs %s; choose one with %s", service, n, which, choose)
}

// noContainer explains why a service has no container: it is not running,
// it is a job, or ferry.star declares no such service.
func (t *Target) noContainer(ctx context.Context, project, service string, declared deploy.Declared) error {
	var decl map[string]string
	var derr error = errors.New("not known")
	if declared != nil {
		decl, derr = declared()
	}
	switch decl[service] {
	case "service":
		return fmt.Errorf("service %s is not running in project %s; `ferry up %s` starts it", service, project, service)
	case "job":
		return fmt.Errorf("%s is a job, which runs to completion during `ferry up`, and it is not running now; exec and restart act on running services", service)
	}
	candidates := map[string]bool{}
	for n, kind := range decl {
		if kind == "service" {
			candidates[n] = true
		}
	}
	if all, err := t.containers(ctx, project); err == nil {
		for _, c := range all {
			if c.Labels[labelKind] == "service" {
				candidates[c.Labels[labelRule]] = true
			}
		}
	}
	names := make([]string, 0, len(candidates))
	for n := range candidates {
		names = append(names, n)
	}
	sort.Strings(names)
	where := "in ferry.star"
	if derr != nil {
		where = "running"
	}
	msg := fmt.Sprintf("no service %q %s (project %s)", service, where, project)
	switch s := engine.Suggest(service, names); {
	case s != "":
		msg += fmt.Sprintf("; did you mean %q?", s)
	case len(names) > 0:
		msg += "; the services are " + strings.Join(names, ", ")
	case derr != nil:
		msg += "; no service of the project runs"
	default:
		msg += "; ferry.star declares no service"
	}
	if declared != nil && derr != nil {
		msg += fmt.Sprintf(" (ferry.star could not be evaluated: %v)", derr)
	}
	return errors.New(msg)
}

// Restart restarts every replica of each service named, as `docker
// compose restart` does: stopped replicas start, running ones stop and
// start again. It checks every name before restarting anything, reports
// each container to log, and fails when a replica exits at once. It
// waits for other changes of the services (rollouts, scale steps, live
// updates) to end first, and they wait for it.
func (t *Target) Restart(ctx context.Context, project string, services []string, declared deploy.Declared, log io.Writer) error {
	if len(services) == 0 {
		return errors.New("name the services to restart, as in `ferry restart web`")
	}
	defer serviceLocks.lock(project, services...)()
	t.changed(project)
	defer t.changed(project)
	var todo [][]dockerapi.Container
	for _, s := range services {
		list, err := t.ruleContainers(ctx, project, s)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return t.noContainer(ctx, project, s, declared)
		}
		if list[0].Labels[labelKind] == "job" {
			return fmt.Errorf("%s is a job, which runs to completion; `ferry up --force %s` runs it again", s, s)
		}
		sort.Slice(list, func(i, j int) bool {
			a, _ := strconv.Atoi(list[i].Labels[labelReplica])
			b, _ := strconv.Atoi(list[j].Labels[labelReplica])
			return a < b
		})
		todo = append(todo, list)
	}
	for _, list := range todo {
		for _, c := range list {
			if err := t.c.RestartContainer(ctx, c.ID); err != nil {
				return fmt.Errorf("restart %s: %w", c.Name, portError(err))
			}
		}
		// Watch them together: a replica that exits at once is reported.
		select {
		case <-time.After(startupWatch):
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, c := range list {
			st, err := t.c.InspectContainer(ctx, c.ID)
			if err != nil {
				return err
			}
			if !st.Running || st.Restarting {
				return fmt.Errorf("%s exited at once after the restart, with code %d%s", c.Name, st.ExitCode, t.lastLines(ctx, c.ID))
			}
			fmt.Fprintf(log, "restarted %s\n", c.Name)
		}
	}
	return nil
}

// PruneOptions select the images that PruneImages removes. Only images
// ferry built are considered: those labelled with Project and a ferry.key,
// tagged with that key in a repository (repo:<short key>).
type PruneOptions struct {
	// Project is the images' ferry.project label, the project's name.
	Project string
	// Owner is the workspace: the images another workspace built (see
	// deploy.Owner) are left alone.
	Owner deploy.Owner
	// Rules are the image rules whose images are pruned, in their own
	// repositories.
	Rules []*Image
	// All considers every image ferry built in the project instead, whatever
	// its rule or repository (ferry down --rmi), with all its tags in the
	// repository of its key tag.
	All bool
	// Keep is how many of the newest images to keep in each repository.
	Keep int
	// Protect lists references that are never removed, such as the image
	// of each rule's last successful key.
	Protect []string
}

// PruneResult says what PruneImages did.
type PruneResult struct {
	Removed []string // images removed, by their key tag
	Kept    []string // old images kept, each with the reason
}

// ferryImage is an image ferry built, found in a repository.
type ferryImage struct {
	img     dockerapi.Image
	repo    string
	keyTag  string   // repo:<short key>
	untag   []string // the tags to remove with it
	created time.Time
}

// PruneImages removes the images ferry built for the selected rules (or the
// whole project) beyond the newest o.Keep in each repository, newest
// first. It never removes an image that a container uses (running or not),
// one listed in o.Protect, or one ferry did not build; an image that keeps
// a tag it was not given by ferry stays, with that tag.
func PruneImages(ctx context.Context, c *dockerapi.Client, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	if o.Keep < 0 {
		return res, fmt.Errorf("keep must be 0 or more, not %d", o.Keep)
	}
	imgs, err := c.ImagesByLabel(ctx, LabelProject, o.Project)
	if err != nil {
		return res, err
	}
	rules := map[string]*Image{} // repo → rule
	for _, r := range o.Rules {
		rules[r.repo] = r
	}
	groups := map[string][]*ferryImage{}
	for _, img := range imgs {
		key := img.Labels[LabelKey]
		if len(key) < 12 || isForeign(o.Owner, img.Labels) {
			continue
		}
		// An image built FROM a ferry image inherits its labels, not its
		// key tag: the tag is what marks an image that ferry built.
		var fi *ferryImage
		for _, tag := range img.Tags {
			if repo, ok := strings.CutSuffix(tag, ":"+key[:12]); ok {
				fi = &ferryImage{img: img, repo: repo, keyTag: tag}
				break
			}
		}
		if fi == nil {
			continue
		}
		fi.untag = []string{fi.keyTag}
		if !o.All {
			r := rules[fi.repo]
			if r == nil || img.Labels[LabelRule] != r.info.Name {
				continue
			}
			for _, t := range r.tags {
				if slices.Contains(img.Tags, t) {
					fi.untag = append(fi.untag, t)
				}
			}
		} else {
			for _, t := range img.Tags {
				if t != fi.keyTag && strings.HasPrefix(t, fi.repo+":") {
					fi.untag = append(fi.untag, t)
				}
			}
		}
		groups[fi.repo] = append(groups[fi.repo], fi)
	}
	var old []*ferryImage
	for _, g := range groups {
		if len(g) <= o.Keep {
			continue
		}
		for _, fi := range g {
			if fi.created, err = c.ImageCreated(ctx, fi.img.ID); err != nil {
				return res, err
			}
		}
		sort.Slice(g, func(i, j int) bool {
			if !g[i].created.Equal(g[j].created) {
				return g[i].created.After(g[j].created)
			}
			return g[i].img.ID < g[j].img.ID
		})
		old = append(old, g[o.Keep:]...)
	}
	if len(old) == 0 {
		return res, nil
	}
	users, err := c.ImageUsers(ctx)
	if err != nil {
		return res, err
	}
	// Newest first: an image built on another goes before it.
	sort.Slice(old, func(i, j int) bool { return old[i].created.After(old[j].created) })
	for _, fi := range old {
		if protected(fi, o.Protect) {
			res.Kept = append(res.Kept, fmt.Sprintf("%s: its rule's last successful build made it", fi.keyTag))
			continue
		}
		if u := users[fi.img.ID]; len(u) == 1 {
			res.Kept = append(res.Kept, fmt.Sprintf("%s: container %s uses it", fi.keyTag, u[0]))
			continue
		} else if len(u) > 1 {
			sort.Strings(u)
			res.Kept = append(res.Kept, fmt.Sprintf("%s: containers %s use it", fi.keyTag, strings.Join(u, ", ")))
			continue
		}
		deleted, kept := false, false
		for _, tag := range fi.untag {
			d, err := c.Untag(ctx, tag)
			if errors.Is(err, dockerapi.ErrImageInUse) {
				res.Kept = append(res.Kept, fmt.Sprintf("%s: the Engine keeps it: %v", fi.keyTag, err))
				kept = true
				break
			} else if err != nil {
				return res, err
			}
			deleted = deleted || d
		}
		if kept {
			continue
		}
		var others []string
		for _, t := range fi.img.Tags {
			if !slices.Contains(fi.untag, t) {
				others = append(others, t)
			}
		}
		switch {
		case deleted:
			res.Removed = append(res.Removed, fi.keyTag)
		case len(others) > 0:
			res.Removed = append(res.Removed, fmt.Sprintf("%s (untagged; the image stays as %s, a tag ferry did not give it)", fi.keyTag, strings.Join(others, ", ")))
		default:
			res.Removed = append(res.Removed, fi.keyTag+" (untagged; the Engine keeps its layers while an image built on it exists)")
		}
	}
	return res, nil
}

func protected(fi *ferryImage, refs []string) bool {
	for _, p := range refs {
		if slices.Contains(fi.img.Tags, p) {
			return true
		}
	}
	return false
}
