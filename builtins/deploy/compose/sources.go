package compose

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sources locates a path of the merged compose model in the files it came
// from: the compose files, the files they include, and the files services
// extend. compose-go merges them into one model without positions, so the
// files are read again as YAML nodes, which keep their lines.
type sources struct {
	dir   string
	files []string              // in the order they are searched
	roots map[string]*yaml.Node // parsed files; nil for one that did not parse
}

func newSources(dir string, files []string) *sources {
	s := &sources{dir: dir, roots: map[string]*yaml.Node{}}
	for _, f := range files {
		s.add(f)
	}
	return s
}

// add reads file and, first, the files it includes.
func (s *sources) add(file string) {
	if _, seen := s.roots[file]; seen {
		return
	}
	root := s.root(file)
	s.files = append(s.files, file)
	for _, inc := range children(lookup(root, "include")) {
		var paths []*yaml.Node
		switch inc.Kind {
		case yaml.ScalarNode:
			paths = []*yaml.Node{inc}
		case yaml.MappingNode:
			if p := lookup(inc, "path"); p != nil && p.Kind == yaml.SequenceNode {
				paths = p.Content
			} else if p != nil {
				paths = []*yaml.Node{p}
			}
		}
		for _, p := range paths {
			s.add(resolve(file, p.Value))
		}
	}
}

// root returns the top mapping of file, parsing it once.
func (s *sources) root(file string) *yaml.Node {
	if r, ok := s.roots[file]; ok {
		return r
	}
	var doc yaml.Node
	var r *yaml.Node
	if b, err := os.ReadFile(file); err == nil && yaml.Unmarshal(b, &doc) == nil && len(doc.Content) > 0 {
		r = doc.Content[0]
	}
	s.roots[file] = r
	return r
}

func resolve(from, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(from), p)
}

// pos returns "file:line" for a model path ("services.web.deploy.mode"),
// relative to the project folder: the deepest part of the path any file
// holds, following extends. "" when no file holds even its first part.
func (s *sources) pos(path string) string {
	file, line := s.find(strings.Split(path, "."))
	if file == "" {
		return ""
	}
	return rel(s.dir, file) + ":" + strconv.Itoa(line)
}

// line returns the line of path in the first file, 0 when not found.
func (s *sources) line(path string) int {
	_, line := s.find(strings.Split(path, "."))
	return line
}

func (s *sources) find(parts []string) (string, int) {
	var best match
	for _, f := range s.files {
		if m := s.search(f, parts, 0); m.depth > best.depth {
			best = m
		}
		if best.depth == len(parts) {
			break
		}
	}
	return best.file, best.line
}

type match struct {
	file  string
	line  int
	depth int // how many parts of the path were found
}

// search looks for parts in file; for a service, in the service it
// extends when the file does not hold the whole path.
func (s *sources) search(file string, parts []string, hops int) match {
	node, depth := descend(s.root(file), parts)
	m := match{file: file, depth: depth}
	if node != nil {
		m.line = node.Line
	}
	if depth == len(parts) || depth < 2 || parts[0] != "services" || hops > 8 {
		return m
	}
	svc := lookup(s.root(file), "services", parts[1])
	ext := lookup(svc, "extends")
	if ext == nil {
		return m
	}
	base, from := ext.Value, file
	if ext.Kind == yaml.MappingNode {
		if n := lookup(ext, "service"); n != nil {
			base = n.Value
		}
		if n := lookup(ext, "file"); n != nil {
			from = resolve(file, n.Value)
		}
	}
	if e := s.search(from, append([]string{"services", base}, parts[2:]...), hops+1); e.depth > m.depth {
		return e
	}
	return m
}

// descend follows parts from node as far as they go: map keys, list
// indexes, or "[]" for the item of a list that holds the rest deepest. It
// returns the last node found (the key's node, for a map key) and how many
// parts it matched.
func descend(node *yaml.Node, parts []string) (*yaml.Node, int) {
	if node == nil {
		return nil, 0
	}
	var last *yaml.Node
	for i, part := range parts {
		switch node.Kind {
		case yaml.MappingNode:
			k, v := entry(node, part)
			if k == nil {
				return last, i
			}
			last, node = k, v
		case yaml.SequenceNode:
			if n, err := strconv.Atoi(part); err == nil && n < len(node.Content) {
				last, node = node.Content[n], node.Content[n]
				continue
			}
			if part != "[]" || len(node.Content) == 0 {
				return last, i
			}
			bestNode, bestDepth := node.Content[0], 0
			for _, item := range node.Content {
				if n, d := descend(item, parts[i+1:]); d > bestDepth && n != nil {
					bestNode, bestDepth = n, d
				}
			}
			if bestDepth == 0 {
				return node.Content[0], i + 1
			}
			return bestNode, i + 1 + bestDepth
		default:
			return last, i
		}
	}
	return last, len(parts)
}

// entry returns the key and value nodes of key in a mapping.
func entry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// lookup follows keys through nested mappings; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		_, n = entry(n, k)
	}
	return n
}

func children(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
