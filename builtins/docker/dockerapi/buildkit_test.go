package dockerapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// trace returns a "moby.buildkit.trace" message of the build stream.
func trace(t *testing.T, s *controlapi.StatusResponse) string {
	t.Helper()
	dt, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	aux, _ := json.Marshal(dt) // base64, as the Engine sends it
	return `{"id":"moby.buildkit.trace","aux":` + string(aux) + "}\n"
}

func TestReadBuildKitStream(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(t0.Add(d)) }
	stream := trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{
		{Digest: "sha256:a", Name: "[internal] load build definition from Dockerfile", Started: ts(0), Completed: ts(0)},
		{Digest: "sha256:b", Name: "[build 2/3] RUN make", Started: ts(0)},
	}}) + trace(t, &controlapi.StatusResponse{Logs: []*controlapi.VertexLog{
		{Vertex: "sha256:b", Msg: []byte("compiling\npart")},
	}}) + trace(t, &controlapi.StatusResponse{
		Vertexes: []*controlapi.Vertex{{Digest: "sha256:b", Name: "[build 2/3] RUN make", Started: ts(0), Completed: ts(1500 * time.Millisecond), Error: "exit code: 2"}},
		Logs:     []*controlapi.VertexLog{{Vertex: "sha256:b", Msg: []byte("ial line")}},
	}) + `{"errorDetail":{"message":"failed to solve with frontend dockerfile.v0: failed to build LLB: executor failed running [/bin/sh -c make]: exit code: 2"}}` + "\n"
	var out strings.Builder
	_, err := readBuildKitStream(strings.NewReader(stream), &out)
	want := "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [build 2/3] RUN make\n#2 compiling\n#2 partial line\n#2 ERROR: exit code: 2\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	var be *BuildError
	if !errors.As(err, &be) || be.Instruction != "RUN make" || be.Message != "executor failed running [/bin/sh -c make]: exit code: 2" {
		t.Errorf("error: %#v", err)
	}

	id, err := readBuildKitStream(strings.NewReader(`{"id":"moby.image.id","aux":{"ID":"sha256:abc"}}`+"\n"), &out)
	if err != nil || id != "sha256:abc" {
		t.Errorf("id %q, %v", id, err)
	}
}

func TestBuilderInfo(t *testing.T) {
	for _, tc := range []struct {
		ping     types.Ping
		buildKit bool
		heredocs bool
	}{
		{types.Ping{APIVersion: "1.41", OSType: "linux"}, true, false},                                         // Docker 20.10 says nothing
		{types.Ping{APIVersion: "1.41", OSType: "linux", BuilderVersion: build.BuilderV1}, false, false},       // BuildKit turned off
		{types.Ping{APIVersion: "1.47", OSType: "linux", BuilderVersion: build.BuilderBuildKit}, true, true},   // Docker 27
		{types.Ping{APIVersion: "1.38", OSType: "linux"}, false, false},                                        // Docker 18.06
		{types.Ping{APIVersion: "1.41", OSType: "windows"}, false, false},                                      // Windows
		{types.Ping{APIVersion: "1.44", OSType: "windows", BuilderVersion: build.BuilderBuildKit}, true, true}, // it says so
	} {
		b := builderInfo(tc.ping)
		if b.BuildKit != tc.buildKit || b.Heredocs != tc.heredocs || b.APIVersion != tc.ping.APIVersion {
			t.Errorf("%+v: %+v, want BuildKit %v, heredocs %v", tc.ping, b, tc.buildKit, tc.heredocs)
		}
	}
}
