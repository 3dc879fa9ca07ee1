package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestInterpolated checks which interpolated values ferry.star reads from
// .env again (dotenv()), and that the expression gives what compose gave.
func TestInterpolated(t *testing.T) {
	dotenv := map[string]string{"TAG": "1.4", "LEVEL": "", "DB_PASSWORD": "hunter2", "HOST": "db"}
	env := types.Mapping{"TAG": "1.4", "LEVEL": "", "DB_PASSWORD": "hunter2", "HOST": "override", "REGISTRY": "r.example"}
	for _, tc := range []struct{ raw, value, want string }{
		{"${REGISTRY}/api:${TAG}", "r.example/api:1.4", `"r.example/api:" + dotenv_vars["TAG"]`},
		{"$TAG", "1.4", `dotenv_vars["TAG"]`},
		{"${LEVEL:-info}", "info", `dotenv_vars.get("LEVEL") or "info"`},
		{"${LEVEL-info}", "", `dotenv_vars.get("LEVEL", "info")`},
		{"${LEVEL:-info} or ${TAG}", "info or 1.4", `(dotenv_vars.get("LEVEL") or "info") + " or " + dotenv_vars["TAG"]`},
		{"v${TAG:?set TAG}-$$x", "v1.4-$x", `"v" + dotenv_vars["TAG"] + "-$x"`},
		// the environment wins over .env, in compose and in dotenv() alike
		{"${HOST}:5432", "override:5432", `dotenv_vars["HOST"] + ":5432"`},
		// not from .env: the value
		{"${REGISTRY}/api", "r.example/api", `"r.example/api"`},
		{"${MISSING:-x}", "x", `"x"`},
		// a secret is never read from .env this way
		{"postgres://app:${DB_PASSWORD}@db", "postgres://app:hunter2@db", `"postgres://app:hunter2@db"`},
		// forms ferry does not write as expressions
		{"${TAG:+yes}", "yes", `"yes"`},
		{"${NOPE:-${TAG}}", "1.4", `"1.4"`},
		// a value that does not match what compose made is written as it is
		{"${TAG}", "2.0", `"2.0"`},
		{"plain", "plain", `"plain"`},
	} {
		tr := &translator{p: &project{Project: &types.Project{Environment: env}, dotenv: dotenv}, vars: map[string]bool{}}
		if got := tr.interpolated(tc.raw, tc.value).inline(); got != tc.want {
			t.Errorf("%s (%q): got %s, want %s", tc.raw, tc.value, got, tc.want)
		}
		if live := tr.dotenvVar != ""; live != (len(tr.calls) == 1) {
			t.Errorf("%s: dotenv() declared %v, calls %d", tc.raw, live, len(tr.calls))
		}
	}
}
