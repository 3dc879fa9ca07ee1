package deploy

import "context"

// A Report is something a Follower noticed about what runs: a replica
// that died, a restart by the target's restart policy, a crash loop, a
// health check that started failing.
type Report struct {
	Level   string // engine.LevelInfo, LevelWarn or LevelError
	Service string
	Text    string // for people; it names the replica; "" when there is nothing to say
	// Restarted is set when the target restarted the replica, for the
	// count of restarts: also when, in a crash loop, nothing is said.
	Restarted bool
}

// A Follower follows a project's running services and reports what
// happens to them until ctx ends. It only watches: restarting a crashed
// replica is the target's restart policy's job, never the follower's.
type Follower interface {
	Follow(ctx context.Context, project string, report func(Report)) error
}
