package mod

import (
	"testing"
)

// Module code reached any way the workspace can reach it runs with the
// module's permissions: at its top level, as a lambda or a function in a
// struct it returns, as a callback of a builtin, or through another file
// of the module.
func TestPermissionPaths(t *testing.T) {
	for _, tt := range []struct{ name, lib, star string }{
		{"top level", "task(name = 'x', cmd = 'true')\nf = 1\n", "load('@lib//m.star', 'f')\n"},
		{"lambda", "f = lambda: os.env('HOME')\n", "load('@lib//m.star', 'f')\nf()\n"},
		{"returned", "def f():\n    def g():\n        return os.env('HOME')\n    return g\n", "load('@lib//m.star', 'f')\nh = f()\nh()\n"},
		{"sorted key", "def f(x):\n    return os.env('HOME')\n", "load('@lib//m.star', 'f')\nsorted([1, 2], key = f)\n"},
		{"dict", "f = {'k': lambda: os.env('HOME')}\n", "load('@lib//m.star', 'f')\nf['k']()\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := permEval(t, tt.star, tt.lib, nil, false)
			wantErr(t, err, "module @lib", "has no permission")
		})
	}
}
