package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
)

// A CPUFrame is the CPU part of one frame of a container's streaming stats:
// the container's and the host's CPU time now and at the frame before.
type CPUFrame struct {
	Read              time.Time
	Total, PreTotal   uint64 // the container's CPU time, ns
	System, PreSystem uint64 // the host's CPU time, ns
	OnlineCPUs        uint32
}

// Percent returns the container's CPU use between the two samples, in
// percent of one core (as `docker stats` shows it). ok is false for a
// frame without a previous sample (the first of a stream).
func (f CPUFrame) Percent() (pct float64, ok bool) {
	if f.PreTotal == 0 || f.PreSystem == 0 || f.System <= f.PreSystem || f.Total < f.PreTotal || f.OnlineCPUs == 0 {
		return 0, false
	}
	return float64(f.Total-f.PreTotal) / float64(f.System-f.PreSystem) * float64(f.OnlineCPUs) * 100, true
}

// StreamCPU calls each with every frame of the container's streaming stats
// (one a second) until ctx ends or the container stops.
func (c *Client) StreamCPU(ctx context.Context, id string, each func(CPUFrame)) error {
	cli, k, err := c.begin(ctx, "ContainerStats", quickCall)
	if err != nil {
		return err
	}
	defer k.done(nil)
	res, err := cli.ContainerStats(k.ctx, id, true)
	if err = k.answered(err); err != nil {
		return c.wrap("container stats", err)
	}
	defer res.Body.Close()
	return DecodeCPU(res.Body, each)
}

// DecodeCPU reads stats frames (JSON objects, one after another, as the
// Engine streams them) from r and calls each with their CPU part.
func DecodeCPU(r io.Reader, each func(CPUFrame)) error {
	dec := json.NewDecoder(r)
	for {
		var s container.StatsResponse
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		each(CPUFrame{
			Read:  s.Read,
			Total: s.CPUStats.CPUUsage.TotalUsage, PreTotal: s.PreCPUStats.CPUUsage.TotalUsage,
			System: s.CPUStats.SystemUsage, PreSystem: s.PreCPUStats.SystemUsage,
			OnlineCPUs: s.CPUStats.OnlineCPUs,
		})
	}
}
