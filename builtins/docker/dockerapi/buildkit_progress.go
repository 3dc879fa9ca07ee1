package dockerapi

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
)

// plainProgress prints BuildKit's progress as lines, the way "docker build
// --progress=plain" does: "#3 [2/4] RUN make", the step's output as
// "#3 …", then "#3 DONE 1.2s", "#3 CACHED" or "#3 ERROR: …".
type plainProgress struct {
	out     io.Writer
	num     map[string]int
	names   map[string]string
	shown   map[string]bool // its first line is printed
	ended   map[string]bool
	partial map[string][]byte // output after its last newline
	// failed is the first step that failed, as BuildKit names it without
	// its "[stage n/m] " prefix: "RUN make".
	failed string
}

func newPlainProgress(out io.Writer) *plainProgress {
	return &plainProgress{
		out:     out,
		num:     map[string]int{},
		names:   map[string]string{},
		shown:   map[string]bool{},
		ended:   map[string]bool{},
		partial: map[string][]byte{},
	}
}

// header prints the first line of vertex d, once, and returns its number.
func (p *plainProgress) header(d string) int {
	n, ok := p.num[d]
	if !ok {
		n = len(p.num) + 1
		p.num[d] = n
	}
	if !p.shown[d] {
		p.shown[d] = true
		fmt.Fprintf(p.out, "#%d %s\n", n, p.names[d])
	}
	return n
}

// update prints what one status message of the stream says. (These are
// the messages the buildkit client's SolveStatus is made from; reading them
// directly spares ferry that package's dependencies.)
func (p *plainProgress) update(s *controlapi.StatusResponse) {
	for _, v := range s.Vertexes {
		if v.Name != "" {
			p.names[v.Digest] = v.Name
		}
	}
	// The output first: a message may carry a step's last output and its
	// end.
	for _, l := range s.Logs {
		n := p.header(l.Vertex)
		data := append(p.partial[l.Vertex], l.Msg...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			fmt.Fprintf(p.out, "#%d %s\n", n, bytes.TrimRight(data[:i], "\r"))
			data = data[i+1:]
		}
		p.partial[l.Vertex] = data
	}
	for _, v := range s.Vertexes {
		if v.Started == nil && v.Completed == nil {
			continue
		}
		n := p.header(v.Digest)
		if v.Completed == nil || p.ended[v.Digest] {
			continue
		}
		p.ended[v.Digest] = true
		p.flushVertex(v.Digest)
		switch {
		case v.Error != "":
			fmt.Fprintf(p.out, "#%d ERROR: %s\n", n, oneLine(v.Error))
			if p.failed == "" && !strings.Contains(v.Error, "context canceled") {
				p.failed = stepName(p.names[v.Digest])
			}
		case v.Cached:
			fmt.Fprintf(p.out, "#%d CACHED\n", n)
		case v.Started != nil:
			fmt.Fprintf(p.out, "#%d DONE %.1fs\n", n, v.Completed.AsTime().Sub(v.Started.AsTime()).Seconds())
		default:
			fmt.Fprintf(p.out, "#%d DONE\n", n)
		}
	}
}

// flushVertex prints the output of d left after its last newline.
func (p *plainProgress) flushVertex(d string) {
	if rest := p.partial[d]; len(rest) > 0 {
		fmt.Fprintf(p.out, "#%d %s\n", p.num[d], rest)
		delete(p.partial, d)
	}
}

// flush prints every step's unfinished output line.
func (p *plainProgress) flush() {
	for d := range p.partial {
		p.flushVertex(d)
	}
}

// stepName drops the "[stage n/m] " prefix of a BuildKit step's name.
func stepName(name string) string {
	if strings.HasPrefix(name, "[") {
		if _, rest, ok := strings.Cut(name, "] "); ok {
			return rest
		}
	}
	return name
}
