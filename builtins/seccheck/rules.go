package seccheck

// Rules is the catalogue of every check, in the order docs/security.md
// lists them.
var Rules = []Rule{
	{"FERRY-DF001", Warning, "the container runs as root",
		"add `USER 65534:65534` (or another non-root uid:gid) to the final stage, or set user = on every service that runs the image"},
	{"FERRY-DF002", Warning, "base image not pinned by digest",
		"pin the base: `FROM name:tag@sha256:<digest>` (docker images --digests shows it), so a re-pushed tag cannot change what you build"},
	{"FERRY-DF003", Warning, "ADD fetches a URL or git repository with nothing pinning it",
		"pin what ADD fetches: `ADD --checksum=sha256:<digest> <url>` for a file (BuildKit checks it; sha256sum shows the digest), " +
			"a full commit hash for a git repository (`ADD <repo>.git#<commit>`, or --checksum=<commit>); or COPY a vendored copy"},
	{"FERRY-DF004", Error, "secret-looking ENV or ARG",
		"pass secrets at run time: a service's env = with a secret() value or secret_files =; ENV and ARG values stay readable in the image's history"},
	{"FERRY-DF005", Info, "no health check",
		"add a HEALTHCHECK to the Dockerfile, or health = health.http(…) / health.tcp(…) to the services that run the image"},
	{"FERRY-IMG001", Error, "secret file inside an image's build context",
		"move the file out of the build context, or add it to the context's .dockerignore (or to the image's ignore =); give the secret to containers at run time with service(env = {...}) or service(secret_files = {...}). ferry refuses to build the image until then"},
	{"FERRY-IMG002", Warning, "SSH agent or key forwarded into an image build",
		"forward SSH only where the build needs it (a private dependency), to a key that opens only that; under ferry ci, give such builds a deploy key of their own rather than the runner's agent"},
	{"FERRY-SV001", Error, "service on the host network",
		"drop network_mode = \"host\" (or the external \"host\" network from networks =); publish the ports the service needs with ports = instead"},
	{"FERRY-SV002", Error, "Docker (or another container engine's) socket mounted",
		"do not mount the engine's socket: whoever controls it is root on the host; if the service must drive Docker, give it a socket proxy that allows only the calls it needs"},
	{"FERRY-SV003", Warning, "database port published on all interfaces",
		loopbackFix("127.0.0.1:<host port>:<container port>")},
	{"FERRY-SV004", Warning, "service runs as root",
		"set user = to a non-root uid:gid such as \"65534:65534\""},
	{"FERRY-SV005", Error, "privileged container",
		"drop privileged = True; if the service needs one capability or device, run it unprivileged and grant only that one outside ferry, or rethink the design: a privileged container is root on the host"},
	{"FERRY-SV006", Warning, "registry image on the tag latest, or on no tag",
		"name a version (`postgres:16`), or pin the digest (`postgres:16@sha256:<digest>`; `ferry status` shows the digest that runs): latest changes under you, and a pull may bring another image than the one you tested"},
	{"FERRY-SV007", Error, "home folder or credentials mounted",
		"mount only what the service needs, from the workspace (./config:/config), and give it credentials with secret_files = {...}, which ferry keeps out of its output: a container that can read ~/.ssh or ~/.docker/config.json can use them"},
	{"FERRY-SV008", Error, "powerful capability added",
		"drop it from cap_add, and grant the narrow capability the service needs instead (NET_BIND_SERVICE to bind a port below 1024, CHOWN, SETUID...); a container with SYS_ADMIN, SYS_MODULE, SYS_PTRACE or ALL can escape to the host"},
	{"FERRY-SV009", Warning, "confinement turned off",
		"drop the security_opt that turns seccomp, AppArmor or SELinux off (unconfined, label=disable); if one system call is missing, give a seccomp profile that allows it (\"seccomp=\" + read_file(\"seccomp.json\"))"},
	{"FERRY-SV010", Info, "container not hardened",
		"add read_only = True (with tmpfs = [\"/tmp\"] for the paths it writes) and cap_drop = [\"ALL\"] (with cap_add = [...] for the few it needs), so a compromised process can neither change the image's files nor use Docker's default capabilities"},
	{"FERRY-SEC001", Error, "AWS access key id", rotateFix},
	{"FERRY-SEC002", Error, "AWS secret access key", rotateFix},
	{"FERRY-SEC003", Error, "GitHub token", rotateFix},
	{"FERRY-SEC004", Error, "GitLab token", rotateFix},
	{"FERRY-SEC005", Error, "Slack token", rotateFix},
	{"FERRY-SEC006", Error, "Stripe live secret key", rotateFix},
	{"FERRY-SEC007", Error, "Google API key", rotateFix},
	{"FERRY-SEC008", Error, "private key", rotateFix},
	{"FERRY-SEC009", Warning, "JSON Web Token", rotateFix},
	{"FERRY-SEC010", Warning, "hard-coded password", rotateFix},
	{"FERRY-SEC011", Warning, "high-entropy value assigned to a secret-looking name", rotateFix},
	{"FERRY-SEC012", Error, "ferry's state folder .ferry is tracked in git",
		"untrack it and commit: `git rm -r --cached .ferry` (ferry init adds .ferry/ to .gitignore, so it stays out); " +
			"then rotate the secrets the workspace uses: their HMACs, and with an older ferry their key, stay readable in the git history"},
}

const rotateFix = "revoke and rotate the credential, then read it at run time with secret() (env =, file = or encrypted =); " +
	"if it is in git history, rewrite the history too (git filter-repo) or treat it as public"
