package dockerapi

// Live update: copying files into a running container and signalling it.

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// CopyToContainer extracts the tar stream into the container at dir (which
// must exist in it), through the Engine's archive API: no program runs in
// the container, so it works in images FROM scratch. The tar headers'
// owners are kept as they are; missing parents of an entry are created,
// owned by root.
func (c *Client) CopyToContainer(ctx context.Context, id, dir string, tarStream io.Reader) error {
	cli, k, err := c.begin(ctx, "CopyToContainer", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.CopyToContainer(k.ctx, id, dir, k.progress(tarStream), container.CopyToContainerOptions{})); err != nil {
		if strings.Contains(err.Error(), "rootfs is marked read-only") {
			return fmt.Errorf("copy into container: %w", ErrReadOnlyRootfs)
		}
		return c.wrap("copy into container", err)
	}
	return nil
}

// ErrReadOnlyRootfs is wrapped by CopyToContainer when the container's
// root filesystem is read-only.
var ErrReadOnlyRootfs = errors.New("the container's root filesystem is read-only")

// KillContainer sends a signal ("HUP", "SIGUSR1", …) to the main process
// of a running container.
func (c *Client) KillContainer(ctx context.Context, id, signal string) error {
	cli, k, err := c.begin(ctx, "ContainerKill", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.ContainerKill(k.ctx, id, signal)); err != nil {
		return c.wrap("signal container", err)
	}
	return nil
}

// ReadContainerFile returns the contents of a regular file in a container
// (running or not), through the Engine's archive API, reading at most
// limit bytes of it.
func (c *Client) ReadContainerFile(ctx context.Context, id, name string, limit int64) ([]byte, error) {
	cli, k, err := c.begin(ctx, "CopyFromContainer", quickCall)
	if err != nil {
		return nil, err
	}
	defer k.done(nil)
	rc, _, err := cli.CopyFromContainer(k.ctx, id, name)
	if err = k.answered(err); err != nil {
		return nil, c.wrap("copy from container", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %s from the container: %w", name, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s in the container is not a regular file", name)
	}
	return io.ReadAll(io.LimitReader(tr, limit))
}
