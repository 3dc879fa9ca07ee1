package dockerapi

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/client"
)

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name, env, want string
	}{
		{"default host", "", `cannot reach the Docker Engine at unix:///nonexistent.sock: is it running? (start it with "sudo systemctl start docker", or set DOCKER_HOST)`},
		{"DOCKER_HOST set", "unix:///nonexistent.sock", "cannot reach the Docker Engine at unix:///nonexistent.sock: is it running? (start it, or fix DOCKER_HOST, which is set)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tc.env)
			if tc.env == "" {
				os.Unsetenv("DOCKER_HOST")
			}
			cli, err := client.NewClientWithOpts(client.WithHost("unix:///nonexistent.sock"), client.WithAPIVersionNegotiation())
			if err != nil {
				t.Fatal(err)
			}
			c := &Client{cli: cli}
			for i := 0; i < 2; i++ { // a failed connection is tried again
				_, err := c.ImageID(context.Background(), "alpine")
				var ue *UnreachableError
				if !errors.As(err, &ue) || err.Error() != tc.want {
					t.Fatalf("got %v, want %q", err, tc.want)
				}
			}
		})
	}
}

func TestReadStream(t *testing.T) {
	for _, tc := range []struct {
		name, stream, wantID, wantErr, wantOut string
	}{
		{
			name:    "success",
			stream:  `{"stream":"Step 1/2 : FROM scratch\n"}{"stream":" ---\u003e \n"}{"aux":{"ID":"sha256:abc"}}{"stream":"Successfully built abc\n"}`,
			wantID:  "sha256:abc",
			wantOut: "Step 1/2 : FROM scratch\n ---> \nSuccessfully built abc\n",
		},
		{
			name:    "no aux",
			stream:  `{"stream":"Successfully built 0123456789ab\n"}`,
			wantID:  "0123456789ab",
			wantOut: "Successfully built 0123456789ab\n",
		},
		{
			name:    "failed step",
			stream:  `{"stream":"Step 1/3 : FROM x\n"}{"stream":"Step 2/3 : RUN false\n"}{"errorDetail":{"code":1,"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}`,
			wantErr: "step 2 (RUN false): The command '/bin/sh -c false' returned a non-zero code: 1",
			wantOut: "Step 1/3 : FROM x\nStep 2/3 : RUN false\n",
		},
		{
			name:    "no image",
			stream:  `{"stream":"hm\n"}`,
			wantErr: "without naming the image",
			wantOut: "hm\n",
		},
		{
			name:    "garbage",
			stream:  `{"stream":`,
			wantErr: "read build output",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			id, err := readStream(strings.NewReader(tc.stream), &out)
			if id != tc.wantID || out.String() != tc.wantOut {
				t.Errorf("id %q, out %q; want %q, %q", id, out.String(), tc.wantID, tc.wantOut)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
	var be *BuildError
	_, err := readStream(strings.NewReader(`{"stream":"Step 4/9 : COPY a b\n"}{"error":"boom\nagain"}`), &strings.Builder{})
	if !errors.As(err, &be) || be.Step != 4 || be.Instruction != "COPY a b" || be.Message != "boom again" {
		t.Errorf("got %#v", err)
	}
}
