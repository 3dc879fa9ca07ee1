// Package dockerfile reads Dockerfiles with BuildKit's parser, for the
// builtins that look inside them: the image rule (builtins/docker) and the
// security checks (builtins/seccheck). It has no Starlark surface and runs
// nothing; it only parses.
package dockerfile

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// A File is a parsed Dockerfile: its syntax tree, its build stages and the
// ARGs declared before its first FROM.
type File struct {
	Result   *parser.Result // the syntax tree and the escape character
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	env      shell.EnvGetter // the meta ARGs' values, build args applied
}

// Parse parses src, the text of a Dockerfile, into its syntax tree and
// then, as Instructions does, into stages. buildArgs override the defaults
// of the meta ARGs. Its errors are BuildKit's, unchanged: they carry the
// line (as a parser.LocationError) but not the file's path, which the
// caller adds.
func Parse(src []byte, buildArgs map[string]string) (*File, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return Instructions(res, buildArgs)
}

// Instructions turns res, a syntax tree from parser.Parse, into build
// stages, for a caller that looks at the tree first. buildArgs override the
// defaults of the meta ARGs. A Dockerfile with no FROM has no stages, and
// no error.
func Instructions(res *parser.Result, buildArgs map[string]string) (*File, error) {
	// A linter with no Warn function reports nothing and reaches for
	// nothing; a nil one would panic on a "# check=" comment.
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, err
	}
	return &File{Result: res, Stages: stages, MetaArgs: metaArgs, env: metaEnv(metaArgs, buildArgs)}, nil
}

// Last returns the index of the last stage built: the stage named target,
// or the last stage when target is "". ok is false when no stage is named
// target.
func (f *File) Last(target string) (i int, ok bool) {
	if target == "" {
		return len(f.Stages) - 1, true
	}
	return instructions.HasStage(f.Stages, target)
}

// Base returns the image that stage i builds on, as its FROM line names it
// once the meta ARGs are substituted.
func (f *File) Base(i int) (string, error) {
	name, _, err := shell.NewLex(f.Result.EscapeToken).ProcessWord(f.Stages[i].BaseName, f.env)
	return name, err
}

// StageIndex returns the index of the stage before stage cur that name
// names, by its AS name or by its index (as COPY --from=0 does), or -1.
func (f *File) StageIndex(name string, cur int) int {
	if i, ok := instructions.HasStage(f.Stages[:cur], name); ok {
		return i
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < cur {
		return i
	}
	return -1
}

// CheckCopyFrom refuses a --from of COPY c that uses a variable (${IMG},
// $IMG), saying what to write instead. No builder substitutes one there:
// BuildKit refuses it, and the classic builder takes the text as written,
// as an image name.
func (f *File) CheckCopyFrom(c *instructions.CopyCommand) error {
	word, _, err := shell.NewLex(f.Result.EscapeToken).ProcessWord(c.From, shell.EnvsFromSlice(nil))
	if err == nil && word == c.From {
		return nil
	}
	return fmt.Errorf("COPY --from=%s: no builder substitutes variables in --from (BuildKit refuses it; the classic builder looks for an image named %q); "+
		"name the image in a stage, FROM <image or ${ARG}> AS <name>, and COPY --from=<name>", c.From, c.From)
}

// Line returns the first line of a location, 0 for none.
func Line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// metaEnv returns the values of the ARGs declared before the first FROM,
// which is what FROM lines may use: a build arg overrides the default.
func metaEnv(metaArgs []instructions.ArgCommand, buildArgs map[string]string) shell.EnvGetter {
	vals := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				vals[kv.Key] = v
			} else if kv.Value != nil {
				vals[kv.Key] = *kv.Value
			}
		}
	}
	env := make([]string, 0, len(vals))
	for k, v := range vals {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return shell.EnvsFromSlice(env)
}
