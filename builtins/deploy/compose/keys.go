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
	"services.*.env_file",
	"services.*.env_file.[].path",
	"services.*.env_file.[].required",
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
	"services.*.networks.*.aliases",
	"services.*.network_mode",
	"services.*.depends_on.*.condition",
	"services.*.depends_on.*.required",
	"services.*.healthcheck.test",
	"services.*.healthcheck.interval",
	"services.*.healthcheck.timeout",
	"services.*.healthcheck.retries",
	"services.*.healthcheck.start_period",
	"services.*.healthcheck.start_interval",
	"services.*.healthcheck.disable",
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
	"services.*.configs.[].source",
	"services.*.configs.[].target",
	"services.*.configs.[].mode",
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
	"networks.*.internal",
	"configs.*.file",
	"configs.*.content",
	"configs.*.name",
	"secrets.*.file",
	"secrets.*.environment",
	"secrets.*.name",
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
	"services.*.env_file.[].format":      "ferry reads env files as compose's default format does (VAR=value lines); give the variables in env",
	"services.*.configs.[].uid":          "a config belongs to the user running ferry; mode says who may read it",
	"services.*.configs.[].gid":          "a config belongs to the user running ferry; mode says who may read it",
	"configs.*.environment":              "ferry reads configs from files or content; write the value to a file, or give configs = {PATH: {\"content\": ...}}",
	"configs.*.external":                 "a Swarm config made outside the project; ferry reads configs from files of the workspace",
	"configs.*.template_driver":          "ferry mounts a config's content as it is",
	"services.*.networks.*.ipv4_address": "ferry lets the Engine choose addresses; give the service aliases and reach it by name",
	"services.*.networks.*.ipv6_address": "ferry lets the Engine choose addresses; give the service aliases and reach it by name",
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

// lookupWhy finds path's pattern in unsupportedWhy.
func lookupWhy(path tree.Path) string {
	for pattern, why := range unsupportedWhy {
		if path.Matches(tree.Path(pattern)) {
			return why
		}
	}
	return ""
}
