package image

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	// Renamed: this package's own type is called dockerfile.
	dfile "github.com/ferryhq/ferry/builtins/dockerfile"
)

// A dockerfile is a parsed Dockerfile, reduced to what ferry needs: the
// images it builds on and the line of every step the classic builder counts.
type dockerfile struct {
	path  string   // workspace-relative, for messages
	lines []string // the source, split into lines
	// steps holds the first line of each instruction the classic builder
	// prints as "Step N/M" (meta ARGs, then every stage up to the target).
	steps  []int
	end    int    // last line of the last instruction built
	escape rune   // the escape character (# escape=)
	bases  []base // images from outside the Dockerfile, in order of use
	// buildKitOnly lists what the classic builder cannot build, in order.
	buildKitOnly []feature
	heredoc      *feature // the first heredoc, or nil
	syntax       string   // the "# syntax=" directive's frontend image, or ""
	syntaxLine   int
	// nodes are the instructions, for naming the line of a BuildKit step.
	nodes []*parser.Node
}

// A base is an image that a FROM or a COPY --from takes from outside the
// Dockerfile.
type base struct {
	ref   string          // as written, after ARG substitution
	named reference.Named // ref, parsed; nil for an image ID
	line  int             // line of the instruction that names it
	node  *parser.Node    // that instruction
	// stage is the name a FROM gives its stage, for rewriting the line;
	// copyFrom is the value of a COPY's --from flag as written.
	stage    string
	copyFrom string
}

// pos returns "path:line" of a line of the Dockerfile.
func (d *dockerfile) pos(line int) string { return fmt.Sprintf("%s:%d", d.path, line) }

// stepLine returns the Dockerfile line of classic-builder step n, or 0 for
// a step ferry added (the label step after the last instruction).
func (d *dockerfile) stepLine(n int) int {
	if n < 1 || n > len(d.steps) {
		return 0
	}
	return d.steps[n-1]
}

// A feature is something of a Dockerfile that needs BuildKit, at its line.
type feature struct {
	line int
	what string // `RUN --mount`
}

// classicFlags are the instruction flags the classic builder knows; any
// other flag needs BuildKit.
var classicFlags = map[string]map[string]bool{
	"from": {"platform": true},
	"copy": {"from": true, "chown": true},
	"add":  {"chown": true},
}

// parseDockerfile parses src, the Dockerfile at path, notes what in it
// needs BuildKit, and finds its external bases. buildArgs
// override the defaults of ARGs declared before the first FROM; target, when
// set, names the last stage built.
func parseDockerfile(path string, src []byte, buildArgs map[string]string, target string) (*dockerfile, error) {
	d := &dockerfile{path: path, lines: strings.Split(string(src), "\n"), escape: '\\'}
	if syntax, _, loc, ok := parser.ParseDirective("syntax", src); ok {
		d.syntax, d.syntaxLine = syntax, dfile.Line(loc)
		d.buildKitOnly = append(d.buildKitOnly, feature{dfile.Line(loc), `the "# syntax=" directive`})
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, d.parseError(err)
	}
	d.escape = res.EscapeToken
	d.nodes = res.AST.Children
	for _, n := range res.AST.Children {
		instr := strings.ToLower(n.Value)
		if len(n.Heredocs) > 0 {
			f := feature{n.StartLine, fmt.Sprintf("a heredoc (%s <<%s)", strings.ToUpper(instr), n.Heredocs[0].Name)}
			d.buildKitOnly = append(d.buildKitOnly, f)
			if d.heredoc == nil {
				d.heredoc = &f
			}
		}
		for _, f := range n.Flags {
			name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if !classicFlags[instr][name] {
				d.buildKitOnly = append(d.buildKitOnly, feature{n.StartLine, fmt.Sprintf("%s --%s", strings.ToUpper(instr), name)})
			}
		}
	}
	f, err := dfile.Instructions(res, buildArgs)
	if err != nil {
		return nil, d.parseError(err)
	}
	if len(f.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction; a Dockerfile starts with FROM (FROM scratch for an empty base)", path)
	}
	last, ok := f.Last(target)
	if !ok {
		return nil, fmt.Errorf("target %q is not a stage of %s (its stages: %s); fix target =", target, path, stageNames(f.Stages))
	}
	stage := -1
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			if stage++; stage > last {
				break
			}
		}
		d.steps = append(d.steps, n.StartLine)
		d.end = n.EndLine
	}

	for i, st := range f.Stages[:last+1] {
		line := dfile.Line(st.Location)
		name, err := f.Base(i)
		if err != nil {
			return nil, fmt.Errorf("%s: FROM %s: %v", d.pos(line), st.BaseName, err)
		}
		if name == "" {
			return nil, fmt.Errorf("%s: FROM %s names no image once its ARGs are substituted; give the ARG a default or a build_args value", d.pos(line), st.BaseName)
		}
		if _, earlier := instructions.HasStage(f.Stages[:i], name); name != "scratch" && !earlier {
			b, err := d.newBase(name, line)
			if err != nil {
				return nil, err
			}
			b.node, b.stage = fromNode(res.AST, line), st.Name
			d.bases = append(d.bases, b)
		}
		for _, cmd := range st.Commands {
			c, ok := cmd.(*instructions.CopyCommand)
			if !ok || c.From == "" || f.StageIndex(c.From, i) >= 0 {
				continue
			}
			cline := dfile.Line(c.Location())
			if err := f.CheckCopyFrom(c); err != nil {
				return nil, fmt.Errorf("%s: %w", d.pos(cline), err)
			}
			b, err := d.newBase(c.From, cline)
			if err != nil {
				return nil, err
			}
			b.node, b.copyFrom = fromNode(res.AST, cline), c.From
			d.bases = append(d.bases, b)
		}
	}
	return d, nil
}

// instructionLine returns the line of the instruction whose text is instr
// (a BuildKit step's name: "RUN make"), or 0 when none or several match.
func (d *dockerfile) instructionLine(instr string) int {
	want := strings.Join(strings.Fields(instr), " ")
	line := 0
	for _, n := range d.nodes {
		if strings.Join(strings.Fields(n.Original), " ") != want {
			continue
		}
		if line > 0 {
			return 0
		}
		line = n.StartLine
	}
	return line
}

func (d *dockerfile) newBase(ref string, line int) (base, error) {
	// An image ID (sha256:…) names a local image too.
	if r, err := reference.ParseAnyReference(ref); err == nil {
		if _, named := r.(reference.Named); !named {
			return base{ref: ref, line: line}, nil
		}
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return base{}, fmt.Errorf("%s: %q is not a valid image reference: %v", d.pos(line), ref, err)
	}
	return base{ref: ref, named: named, line: line}, nil
}

// parseError positions a parser error at its Dockerfile line.
func (d *dockerfile) parseError(err error) error {
	msg := err.Error()
	// Drop the parser's own "dockerfile parse error on line N: " prefix.
	if _, rest, ok := strings.Cut(msg, "parse error on line "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 {
		return fmt.Errorf("%s: %s; fix the Dockerfile", d.pos(dfile.Line(le.Locations[0])), msg)
	}
	return fmt.Errorf("%s: %s; fix the Dockerfile", d.path, msg)
}

func fromNode(ast *parser.Node, line int) *parser.Node {
	for _, n := range ast.Children {
		if n.StartLine == line {
			return n
		}
	}
	return nil
}

func stageNames(stages []instructions.Stage) string {
	var names []string
	for _, s := range stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "none are named; name one with FROM … AS name"
	}
	return strings.Join(names, ", ")
}

// render returns the Dockerfile to send: the bases in refs (keyed by index
// in d.bases) replaced by the given references, and one LABEL instruction
// with labels added after the last instruction built. Every other line
// stays where it was, so that build errors still name the right line.
// (The classic builder would make one step, and one container, per label
// given in the build's options.)
func (d *dockerfile) render(refs map[int]string, labels map[string]string) []byte {
	lines := append([]string{}, d.lines...)
	for i, ref := range refs {
		b := d.bases[i]
		n := b.node
		var text string
		if b.copyFrom != "" {
			text = strings.Replace(n.Original, "--from="+b.copyFrom, "--from="+ref, 1)
		} else {
			parts := []string{"FROM"}
			parts = append(parts, n.Flags...)
			parts = append(parts, ref)
			if b.stage != "" {
				parts = append(parts, "AS", b.stage)
			}
			text = strings.Join(parts, " ")
		}
		lines[n.StartLine-1] = text
		for l := n.StartLine; l < n.EndLine && l < len(lines); l++ {
			lines[l] = ""
		}
	}
	if len(labels) > 0 {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		label := "LABEL"
		for _, k := range keys {
			label += " " + d.quote(k) + "=" + d.quote(labels[k])
		}
		end := min(d.end, len(lines))
		lines = slices.Insert(lines, end, label)
	}
	return []byte(strings.Join(lines, "\n"))
}

// quote returns s as a double-quoted Dockerfile word, with no variable
// substituted.
func (d *dockerfile) quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '$', d.escape:
			sb.WriteRune(d.escape)
		case '\n':
			r = ' '
		}
		sb.WriteRune(r)
	}
	sb.WriteByte('"')
	return sb.String()
}
