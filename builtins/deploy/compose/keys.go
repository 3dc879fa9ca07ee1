package compose

import (
	"strings"

	"github.com/compose-spec/compose-go/v2/tree"
)

// translated are the compose attributes Import translates: every other
// attribute of a project is reported (loader.WithSupportedAttributes), so
// one the compose specification gains later is listed, not dropped.
var translated = []string{
	"name",
	"services.*.image",
	"services.*.pull_policy",
	"services.*.build.context",
	"services.*.build.dockerfile",
	"services.*.build.target",
	"services.*.build.args.*",
	"services.*.build.cache_from",
	"services.*.build.tags",
	"services.*.build.secrets.[].source",
	"services.*.build.secrets.[].target",
	"services.*.command",
	"services.*.entrypoint",
	"services.*.environment.*",
	"services.*.ports.[].target",
	"services.*.ports.[].published",
	"services.*.ports.[].host_ip",
	"services.*.ports.[].protocol",
	"services.*.ports.[].mode",
	"services.*.volumes.[].type",
	"services.*.volumes.[].source",
	"services.*.volumes.[].target",
	"services.*.volumes.[].read_only",
	"services.*.volumes.[].bind.create_host_path",
	"services.*.volumes.[].volume", // an empty map; its options are reported
	"services.*.volumes.[].bind",
	"services.*.volumes.[].tmpfs",
	"services.*.volumes.[].tmpfs.size",
	"services.*.volumes.[].tmpfs.mode",
	"services.*.networks.*",
	"services.*.network_mode",
	"services.*.depends_on.*.condition",
	"services.*.depends_on.*.required",
	"services.*.healthcheck.test",
	"services.*.healthcheck.interval",
	"services.*.healthcheck.timeout",
	"services.*.healthcheck.retries",
	"services.*.healthcheck.start_period",
	"services.*.deploy.replicas",
	"services.*.deploy.resources.limits.memory",
	"services.*.deploy.resources.limits.cpus",
	"services.*.deploy.restart_policy.condition",
	"services.*.deploy.restart_policy.max_attempts",
	"services.*.deploy.update_config.parallelism",
	"services.*.deploy.update_config.order",
	"services.*.scale",
	"services.*.mem_limit",
	"services.*.cpus",
	"services.*.restart",
	"services.*.cap_add",
	"services.*.cap_drop",
	"services.*.read_only",
	"services.*.privileged",
	"services.*.security_opt",
	"services.*.tmpfs",
	"services.*.init",
	"services.*.stop_signal",
	"services.*.stop_grace_period",
	"services.*.extra_hosts",
	"services.*.dns",
	"services.*.hostname",
	"services.*.shm_size",
	"services.*.ulimits.*",
	"services.*.ulimits.*.soft",
	"services.*.ulimits.*.hard",
	"services.*.sysctls.*",
	"services.*.devices.[].source",
	"services.*.devices.[].target",
	"services.*.devices.[].permissions",
	"services.*.secrets.[].source",
	"services.*.secrets.[].target",
	"services.*.profiles",
	"services.*.labels.*",
	"services.*.working_dir",
	"services.*.user",
	"volumes.*.external",
	"volumes.*.name",
	"networks.*.external",
	"networks.*.name",
	"secrets.*.file",
	"secrets.*.environment",
	"secrets.*.name",
}

// notYet are the compose attributes that ferry is gaining the settings for
// (env_file, anonymous volumes, health start_interval and disable,
// configs, network aliases, internal networks, keeping a service off the
// default network): each is listed as "not translated yet", with what
// ferry does meanwhile, until its translation is written. Keys are model
// paths; Import adds the value-level ones (an anonymous volume, a service
// on named networks only) itself.
var notYet = map[string]string{
	"services.*.env_file":                   "ferry has no env_file yet; give the variables in env, or secrets with secret(dotenv = ...)",
	"services.*.healthcheck.start_interval": "ferry's health checks have no start_interval yet; probes run at interval from the start",
	"services.*.healthcheck.disable":        "ferry cannot disable an image's health check yet",
	"services.*.configs":                    "ferry has no configs yet; mount the file with volumes (\"./file:/path:ro\")",
	"configs":                               "ferry has no configs yet; mount the files with volumes (\"./file:/path:ro\")",
	"services.*.networks.*.aliases":         "ferry has no network aliases yet; the service is reached by its name",
	"networks.*.internal":                   "ferry has no internal networks yet; the network reaches outside",
	"anonymous volume":                      "ferry has no anonymous volumes yet; give the volume a name (NAME:/path)",
	"default network":                       "ferry keeps every service on the project's network as well; a service cannot leave it yet",
}

// unsupportedWhy says why some attributes are not translated, and what to
// do instead; others get a general word.
var unsupportedWhy = map[string]string{
	"services.*.container_name":          "ferry names containers <project>-<service>-<replica>; other services reach it by the service name",
	"services.*.expose":                  "not needed: services reach every port of each other on the project's network",
	"services.*.links":                   "not needed: services reach each other by name on the project's network",
	"services.*.logging":                 "ferry keeps the Engine's logging driver; `ferry logs` reads it",
	"services.*.platform":                "ferry runs the Engine's platform",
	"services.*.develop":                 "use image(live_update = [sync(...)]) and `ferry watch`: see docs/live-update.md",
	"services.*.deploy.placement":        "a Swarm placement; ferry's Swarm target places by the Engine's defaults",
	"services.*.deploy.mode":             "ferry runs replicated services",
	"services.*.depends_on.*.restart":    "ferry does not restart a service when what it depends on restarts",
	"services.*.build.ssh":               "give ssh = [...] to the image() by hand: forwarding an agent is a choice to make on purpose (FERRY-IMG002)",
	"secrets.*.external":                 "a Swarm secret; declare a secret() with a source ferry can read (env, file, encrypted, cmd)",
	"secrets.*.content":                  "ferry.star holds no secret values; put the value in a file or an environment variable and read it with secret()",
	"services.*.build.dockerfile_inline": "write the Dockerfile to a file and give image(dockerfile = ...)",
}

// supportedPaths are the translated paths, for services and jobs alike
// (but the settings that only services have).
func supportedPaths() []tree.Path {
	var out []tree.Path
	for _, p := range translated {
		out = append(out, tree.Path(p))
		if rest, ok := strings.CutPrefix(p, "services.*."); ok && !serviceOnly(rest) {
			out = append(out, tree.Path("jobs.*."+rest))
		}
	}
	return out
}

func serviceOnly(attr string) bool {
	for _, k := range []string{"deploy", "scale", "restart", "healthcheck"} {
		if attr == k || strings.HasPrefix(attr, k+".") {
			return true
		}
	}
	return false
}

// lookupWhy finds path's pattern in notYet (later = true) or unsupportedWhy.
func lookupWhy(path tree.Path) (string, bool) {
	for pattern, why := range notYet {
		if !strings.Contains(pattern, " ") && path.Matches(tree.Path(pattern)) {
			return why, true
		}
	}
	for pattern, why := range unsupportedWhy {
		if path.Matches(tree.Path(pattern)) {
			return why, false
		}
	}
	return "", false
}
