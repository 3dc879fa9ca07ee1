package seccheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// found returns the findings of rule id as "id:line", and their messages.
func found(fs []Finding, id string) ([]string, string) {
	var got []string
	var msgs []string
	for _, f := range fs {
		if f.Rule == id {
			got = append(got, fmt.Sprintf("%s:%d", f.Rule, f.Line))
			msgs = append(msgs, f.Message)
		}
	}
	return got, strings.Join(msgs, "\n")
}

func TestDockerfileRules(t *testing.T) {
	tests := []struct {
		name string
		rule string
		src  string
		d    Dockerfile // options; Path and Src are filled in
		want []string   // "id:line" of the findings of rule
		msg  string     // a part of the first message, when want is not empty
	}{
		{name: "scratch without USER", rule: "FERRY-DF001", src: "FROM scratch\nCOPY app /app\n", want: []string{"FERRY-DF001:1"}, msg: "no USER: the container runs as root"},
		{name: "USER nobody", rule: "FERRY-DF001", src: "FROM scratch\nUSER 65534:65534\n"},
		{name: "USER root", rule: "FERRY-DF001", src: "FROM scratch\nUSER 1000\nUSER root\n", want: []string{"FERRY-DF001:3"}, msg: "USER root"},
		{name: "USER 0:0", rule: "FERRY-DF001", src: "FROM scratch\nUSER 0:0\n", want: []string{"FERRY-DF001:2"}},
		{name: "USER root:root, lowercase", rule: "FERRY-DF001", src: "from scratch\nuser root:root\n", want: []string{"FERRY-DF001:2"}},
		{name: "USER 00", rule: "FERRY-DF001", src: "FROM scratch\nUSER 00\n", want: []string{"FERRY-DF001:2"}},
		{name: "USER 1000:0, root group only", rule: "FERRY-DF001", src: "FROM scratch\nUSER 1000:0\n"},
		{name: "USER rootless, a name", rule: "FERRY-DF001", src: "FROM scratch\nUSER rootless\n"},
		{name: "USER in the stage built on", rule: "FERRY-DF001", src: "FROM scratch AS base\nUSER 10001\nFROM base\nCOPY app /app\n"},
		{name: "external base without USER", rule: "FERRY-DF001", src: "FROM scratch AS build\nUSER 10\nFROM alpine:3.19\n", want: []string{"FERRY-DF001:3"}, msg: "unless alpine:3.19 sets a user"},
		{name: "services set a user", rule: "FERRY-DF001", src: "FROM scratch\n", d: Dockerfile{RunAsSet: true}},
		{name: "ignored by comment", rule: "FERRY-DF001", src: "# ferry:ignore FERRY-DF001, FERRY-DF005\nFROM scratch\n"},
		{name: "comment names another rule", rule: "FERRY-DF001", src: "# ferry:ignore FERRY-DF002\nFROM scratch\n", want: []string{"FERRY-DF001:2"}},
		{name: "target stage runs as root", rule: "FERRY-DF001", src: "FROM scratch AS dev\nFROM scratch\nUSER 1\n", d: Dockerfile{Target: "dev"}, want: []string{"FERRY-DF001:1"}},

		{name: "tag only", rule: "FERRY-DF002", src: "FROM alpine:3.19\nUSER 1\n", want: []string{"FERRY-DF002:1"}, msg: "alpine:3.19 is not pinned by digest"},
		{name: "digest", rule: "FERRY-DF002", src: "FROM alpine:3.19@sha256:" + strings.Repeat("a", 64) + "\n"},
		{name: "scratch", rule: "FERRY-DF002", src: "FROM scratch\n"},
		{name: "image rule of the workspace", rule: "FERRY-DF002", src: "FROM acme/base:dev\n", d: Dockerfile{LocalRepos: map[string]bool{"acme/base": true}}},
		{name: "earlier stage", rule: "FERRY-DF002", src: "FROM scratch AS a\nFROM a\nCOPY --from=a /x /x\nCOPY --from=0 /y /y\n"},
		{name: "RUN --mount from an image", rule: "FERRY-DF002", src: "FROM scratch AS a\nFROM scratch\nRUN --mount=type=bind,from=golang:1.22,target=/go --mount=type=cache,target=/c,from=a --mount=type=secret,id=x true\n", want: []string{"FERRY-DF002:3"}, msg: "golang:1.22 is not pinned"},
		{name: "RUN --mount from a pinned image", rule: "FERRY-DF002", src: "FROM scratch\nrun --mount=from=golang@sha256:" + strings.Repeat("e", 64) + ",target=/go true\n"},
		{name: "earlier stage, other case", rule: "FERRY-DF002", src: "FROM scratch AS build\nfrom BUILD\nCOPY --from=Build /x /x\n"},
		{name: "earlier stage named by an ARG", rule: "FERRY-DF002", src: "ARG STAGE=build\nFROM scratch AS build\nFROM ${STAGE}\n"},
		{name: "later stage is an image", rule: "FERRY-DF002", src: "FROM scratch\nCOPY --from=tools /x /x\nFROM alpine@sha256:" + strings.Repeat("f", 64) + " AS tools\n", want: []string{"FERRY-DF002:2"}},
		{name: "COPY --from an image", rule: "FERRY-DF002", src: "FROM scratch\nCOPY --from=busybox:1 /bin/busybox /bin/\n", want: []string{"FERRY-DF002:2"}},
		{name: "COPY --from a stage of an image named by an ARG", rule: "FERRY-DF002", src: "ARG TOOLS=busybox:1\nFROM ${TOOLS} AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /bin/\n", want: []string{"FERRY-DF002:2"}, msg: "busybox:1 is not pinned"},
		{name: "COPY --from a stage of a pinned image named by an ARG", rule: "FERRY-DF002", src: "ARG TOOLS=busybox@sha256:" + strings.Repeat("d", 64) + "\nFROM ${TOOLS} AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /bin/\n"},
		{name: "ARG default", rule: "FERRY-DF002", src: "ARG BASE=debian:12\nFROM ${BASE}\n", want: []string{"FERRY-DF002:2"}, msg: "debian:12 is not"},
		{name: "ARG pinned by build_args", rule: "FERRY-DF002", src: "ARG BASE=debian:12\nFROM ${BASE}\n", d: Dockerfile{BuildArgs: map[string]string{"BASE": "debian@sha256:" + strings.Repeat("b", 64)}}},
		{name: "stage after the target", rule: "FERRY-DF002", src: "FROM scratch AS app\nFROM alpine\n", d: Dockerfile{Target: "app"}},

		{name: "ADD a URL", rule: "FERRY-DF003", src: "FROM scratch\nADD https://example.com/tool.tgz /opt/\n", want: []string{"FERRY-DF003:2"}, msg: "https://example.com/tool.tgz"},
		{name: "ADD a local archive", rule: "FERRY-DF003", src: "FROM scratch\nADD tool.tgz /opt/\n"},
		{name: "ADD a URL with --checksum", rule: "FERRY-DF003", src: "FROM scratch\nADD --checksum=sha256:" + strings.Repeat("c", 64) + " https://example.com/tool.tgz /opt/\n"},
		{name: "ADD an uppercase scheme", rule: "FERRY-DF003", src: "FROM scratch\nADD HTTPS://example.com/a.tgz /opt/\nadd Http://example.com/b.tgz /opt/\n", want: []string{"FERRY-DF003:2", "FERRY-DF003:3"}},
		{name: "ADD a URL among local files", rule: "FERRY-DF003", src: "FROM scratch\nADD a.txt http://example.com/b.txt /opt/\n", want: []string{"FERRY-DF003:2"}, msg: "http://example.com/b.txt fetches a URL at build time with no --checksum"},
		{name: "ADD a git repository over ssh", rule: "FERRY-DF003", src: "FROM scratch\nADD git@github.com:org/repo.git /src\n", want: []string{"FERRY-DF003:2"}, msg: "git@github.com:org/repo.git clones a git repository at build time at the default branch"},
		{name: "ADD a git repository at a branch", rule: "FERRY-DF003", src: "FROM scratch\nADD https://github.com/org/repo.git#main /src\nADD ssh://git@example.com/repo.git?tag=v1 /src2\n", want: []string{"FERRY-DF003:2", "FERRY-DF003:3"}, msg: `"main", a branch or tag`},
		{name: "ADD a git repository, uppercase scheme", rule: "FERRY-DF003", src: "FROM scratch\nADD HTTPS://github.com/org/repo.git /src\n", want: []string{"FERRY-DF003:2"}, msg: "clones a git repository"},
		{name: "ADD a git repository at a commit", rule: "FERRY-DF003", src: "FROM scratch\nADD git@github.com:org/repo.git#" + strings.Repeat("a", 40) + " /src\n" +
			"ADD --checksum=" + strings.Repeat("b", 40) + " https://github.com/org/repo.git#v1 /src2\n" +
			"ADD https://github.com/org/repo.git?tag=v1&checksum=" + strings.Repeat("d", 40) + " /src3\n"},
		{name: "ADD a local path with a colon", rule: "FERRY-DF003", src: "FROM scratch\nADD conf:v1/app.toml /etc/\n"},
		{name: "ignored by comment", rule: "FERRY-DF003", src: "FROM scratch\n# ferry:ignore FERRY-DF003\nADD https://example.com/tool.tgz /opt/\n"},

		{name: "ENV password", rule: "FERRY-DF004", src: "FROM scratch\nENV DB_PASSWORD=hunter2 MODE=prod\n", want: []string{"FERRY-DF004:2"}, msg: "ENV DB_PASSWORD"},
		{name: "ENV token, old form", rule: "FERRY-DF004", src: "FROM scratch\nENV GITHUB_TOKEN abc\n", want: []string{"FERRY-DF004:2"}},
		{name: "ENV switch", rule: "FERRY-DF004", src: "FROM scratch\nENV MYSQL_ALLOW_EMPTY_PASSWORD=yes MYSQL_RANDOM_ROOT_PASSWORD=1 REQUIRE_TOKEN=true\n"},
		{name: "ENV password that is a word", rule: "FERRY-DF004", src: "FROM scratch\nenv MYSQL_ROOT_PASSWORD=yesplease\n", want: []string{"FERRY-DF004:2"}},
		{name: "ENV where the secret is", rule: "FERRY-DF004", src: "FROM scratch\nENV DB_PASSWORD_FILE=/run/secrets/db AUTHOR=me BYPASS=1\n"},
		{name: "ARG secret", rule: "FERRY-DF004", src: "ARG NPM_TOKEN\nFROM scratch\nARG API_KEY=\n", want: []string{"FERRY-DF004:1", "FERRY-DF004:3"}, msg: "ARG NPM_TOKEN"},
		{name: "ARG version", rule: "FERRY-DF004", src: "FROM scratch\nARG VERSION=1\n"},

		{name: "no health check", rule: "FERRY-DF005", src: "FROM scratch\n", want: []string{"FERRY-DF005:1"}},
		{name: "HEALTHCHECK", rule: "FERRY-DF005", src: "FROM scratch\nHEALTHCHECK CMD [\"/app\", \"-ping\"]\n"},
		{name: "HEALTHCHECK NONE", rule: "FERRY-DF005", src: "FROM scratch\nHEALTHCHECK NONE\n", want: []string{"FERRY-DF005:1"}},
		{name: "HEALTHCHECK in the stage built on", rule: "FERRY-DF005", src: "FROM scratch AS base\nHEALTHCHECK CMD [\"/x\"]\nFROM base\n"},
		{name: "HEALTHCHECK NONE over the stage built on", rule: "FERRY-DF005", src: "FROM scratch AS base\nHEALTHCHECK CMD [\"/x\"]\nFROM base\nHEALTHCHECK NONE\n", want: []string{"FERRY-DF005:3"}},
		{name: "HEALTHCHECK after NONE", rule: "FERRY-DF005", src: "FROM scratch AS base\nHEALTHCHECK NONE\nFROM base\nhealthcheck cmd [\"/x\"]\n"},
		{name: "lowercase healthcheck none", rule: "FERRY-DF005", src: "from scratch\nhealthcheck none\n", want: []string{"FERRY-DF005:1"}},
		{name: "services declare health", rule: "FERRY-DF005", src: "FROM scratch\n", d: Dockerfile{HealthSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.name, func(t *testing.T) {
			d := tt.d
			d.Path, d.Src = "app/Dockerfile", []byte(tt.src)
			fs, err := CheckDockerfile(d)
			if err != nil {
				t.Fatal(err)
			}
			got, msgs := found(fs, tt.rule)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v (all: %v)", got, tt.want, fs)
			}
			if tt.msg != "" && !strings.Contains(msgs, tt.msg) {
				t.Errorf("messages %q do not say %q", msgs, tt.msg)
			}
			for _, f := range fs {
				if f.File != "app/Dockerfile" || f.Fix == "" || f.Severity != ruleByID(f.Rule).Severity {
					t.Errorf("finding %+v: want file app/Dockerfile, a fix and the rule's severity", f)
				}
			}
		})
	}
}

func TestDockerfileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"# just a comment\n":            "no instructions",
		"ARG X=1\n":                     "no FROM",
		"FROM scratch\nCOPY\n":          "app/Dockerfile",
		"FROM scratch AS a\nFROM a\n":   "", // parses
		"FROM scratch\nUSER 1\nBOGUS x": "app/Dockerfile",
		// Neither builder substitutes a variable in COPY --from.
		"ARG IMG=busybox:1\nFROM scratch\nCOPY --from=${IMG} /x /x\n":    "app/Dockerfile:3: COPY --from=${IMG}: no builder substitutes variables in --from",
		"FROM scratch\nARG IMG=busybox:1\ncopy --from=$IMG /x /x\n":      "app/Dockerfile:3: COPY --from=$IMG",
		"ARG IMG=busybox:1\nFROM scratch\nCOPY --from=${IMG:-a} /x /x\n": "app/Dockerfile:3",
	} {
		_, err := CheckDockerfile(Dockerfile{Path: "app/Dockerfile", Src: []byte(src), Target: ""})
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", src, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got error %v, want one with %q", src, err, want)
		}
	}
	// A stage after the target is not built.
	if _, err := CheckDockerfile(Dockerfile{Path: "Dockerfile", Src: []byte("FROM scratch AS app\nFROM scratch\nCOPY --from=$IMG /x /x\n"), Target: "app"}); err != nil {
		t.Errorf("COPY --from=$IMG after the target: %v", err)
	}
	if _, err := CheckDockerfile(Dockerfile{Path: "Dockerfile", Src: []byte("FROM scratch\n"), Target: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown target: got %v", err)
	}
}
