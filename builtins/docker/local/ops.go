package local

// Operations on what a project runs: ferry exec and restart.

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
	"github.com/ferryhq/ferry/builtins/docker/objects"
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
	case c.Labels[objects.LabelKind] == "job":
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
	if list[0].Labels[objects.LabelKind] == "job" {
		return list[0], nil
	}
	var have []int
	for _, c := range list {
		i, _ := strconv.Atoi(c.Labels[objects.LabelReplica])
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
			if c.Labels[objects.LabelKind] == "service" {
				candidates[c.Labels[objects.LabelRule]] = true
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
	defer objects.LockServices(project, services...)()
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
		if list[0].Labels[objects.LabelKind] == "job" {
			return fmt.Errorf("%s is a job, which runs to completion; `ferry up --force %s` runs it again", s, s)
		}
		sort.Slice(list, func(i, j int) bool {
			a, _ := strconv.Atoi(list[i].Labels[objects.LabelReplica])
			b, _ := strconv.Atoi(list[j].Labels[objects.LabelReplica])
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
