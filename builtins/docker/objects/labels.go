package objects

// Labels on every object ferry creates.
const (
	LabelProject = "ferry.project"
	LabelRule    = "ferry.rule"
	LabelConfig  = "ferry.config" // the rule's key: its config hash
	LabelKind    = "ferry.kind"   // service or job
	LabelReplica = "ferry.replica"
	LabelSecrets = "ferry.secrets" // a hash of HMACs of the secret values
)

// LabelDigest on a container records the repo@sha256:… of the registry
// image it runs.
const LabelDigest = "ferry.image.digest"

// LabelHealth carries an http or tcp check on the containers, so that
// `ferry status`, which does not evaluate ferry.star, can probe it.
const LabelHealth = "ferry.health"
