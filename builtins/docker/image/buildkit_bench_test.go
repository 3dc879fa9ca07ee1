package image

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
)

// rebuildDockerfile is a multi-stage build of a Go-like program: a build
// stage "compiles" the sources (25ms a file, see toolSrc), and the image
// takes the program and the assets. With CACHE, the compiler's cache is a
// BuildKit cache mount, kept from one build to the next.
const rebuildDockerfile = `FROM REPO-base AS build
COPY src /src
RUN CACHE["/tool", "compile", "/src", "/cache", "/app"]

FROM scratch
COPY assets /assets
COPY --from=build /app /app
`

// BenchmarkImageRebuild measures the rebuild of an image after one
// source file changed: BuildKit with a cache mount for the compiler's
// cache (the context travels as the changes since the last build) against
// the classic builder (the whole context, every source compiled again).
// 40 sources of 4 KiB, 100 assets of 20 KiB.
//
//	go test ./builtins/docker/image -run '^$' -bench ImageRebuild -benchtime 5x
func BenchmarkImageRebuild(b *testing.B) {
	c := dockerapi.New()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		b.Skipf("no Docker Engine: %v", err)
	}
	for _, tc := range []struct{ builder, cache string }{
		{"buildkit", "--mount=type=cache,target=/cache,id=REPO "},
		{"classic", ""},
	} {
		b.Run(tc.builder, func(b *testing.B) {
			files := map[string]string{"app/Dockerfile": strings.Replace(rebuildDockerfile, "CACHE", tc.cache, 1)}
			for i := range 40 {
				files[fmt.Sprintf("app/src/f%02d.go", i)] = fmt.Sprintf("package main // %d\n", i) + strings.Repeat("// source\n", 400)
			}
			for i := range 100 {
				files[fmt.Sprintf("app/assets/a%03d.css", i)] = strings.Repeat(fmt.Sprintf("/* asset %d */\n", i), 1400)
			}
			w := toolWorkspace(b, c, fmt.Sprintf(`image(name = "app", repo = "REPO", context = "app", builder = %q, deps = ["base"])`, tc.builder), files)
			w.MustRun()
			n := 0
			for b.Loop() {
				n++
				w.Write("app/src/f07.go", fmt.Sprintf("package main // edit %d\n", n))
				r := w.Run(context.Background(), "app")
				if r.Err != nil {
					b.Fatalf("rebuild: %v: %s", r.Err, r.Failure("app"))
				}
				if tc.builder == "buildkit" && !strings.Contains(r.Output("app"), "compiled 1 of 40") {
					b.Fatalf("the cache mount did not spare the unchanged sources:\n%s", r.Output("app"))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rebuild")
		})
	}
}
