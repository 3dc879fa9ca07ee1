package deploy

import (
	"fmt"
	"slices"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// DefaultNetwork is how a service names the project's own network in
// networks =, to give itself aliases there.
const DefaultNetwork = "default"

// networksType accepts networks = as a list of names, or as compose's
// long form, a dict of name to {"aliases": [...]}.
type networksType struct{}

func (networksType) Describe() string {
	return `list of network names, or dict of name to {"aliases": [...]}`
}

func (networksType) Convert(v starlark.Value) (any, bool) {
	if names, ok := engine.StringList.Convert(v); ok {
		return names, true
	}
	d, ok := v.(*starlark.Dict)
	return d, ok
}

// declareNetworks reads networks = and default_network = into s: the
// networks it joins beyond the project's (in order), the aliases it has
// on each, and whether it joins the project's network.
func declareNetworks(c *engine.Call, s *ServiceSpec) error {
	s.NoDefaultNetwork = !c.Bool("default_network", true)
	var names []string
	switch v := c.Value("networks").(type) {
	case []string:
		names = v
	case *starlark.Dict:
		for _, item := range v.Items() {
			name, ok := starlark.AsString(item[0])
			if !ok {
				return c.Errorf("networks: key %s is not a network name", item[0])
			}
			names = append(names, name)
			aliases, err := parseNetworkOptions(name, item[1])
			if err != nil {
				return c.Errorf("networks: %v", err)
			}
			if len(aliases) > 0 {
				if s.Aliases == nil {
					s.Aliases = map[string][]string{}
				}
				s.Aliases[name] = aliases
			}
		}
	}
	for _, n := range names {
		switch {
		case n == DefaultNetwork && s.NoDefaultNetwork:
			return c.Errorf("networks: names %q, the project's network, and default_network = False keeps the service off it; drop one of them", n)
		case n == DefaultNetwork:
		case slices.Contains(s.Networks, n):
			return c.Errorf("networks: %q is named twice", n)
		default:
			s.Networks = append(s.Networks, n)
		}
	}
	if s.NoDefaultNetwork && len(s.Networks) == 0 && s.NetworkMode == "" {
		return c.Errorf("default_network = False leaves the service on no network; name the networks it joins (networks = [\"backend\"]), or write network_mode = \"none\" for a container with no network but loopback")
	}
	return nil
}

// parseNetworkOptions reads the options of one network in the dict form
// of networks =: None, {} or {"aliases": [...]}.
func parseNetworkOptions(name string, v starlark.Value) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a dict such as {\"aliases\": [\"db\"]}, or None", name, v.Type())
	}
	var aliases []string
	for _, item := range d.Items() {
		k, _ := starlark.AsString(item[0])
		if k != "aliases" {
			return nil, fmt.Errorf("%s: unknown option %s; a network takes aliases (other names of the service on it)", name, item[0])
		}
		list, ok := engine.StringList.Convert(item[1])
		if !ok {
			return nil, fmt.Errorf("%s: aliases: got %s, want a list of names", name, item[1].Type())
		}
		for _, a := range list.([]string) {
			if !validHostname(a) {
				return nil, fmt.Errorf("%s: alias %q is not a DNS name (letters, digits, '-' and '.')", name, a)
			}
			if !slices.Contains(aliases, a) {
				aliases = append(aliases, a)
			}
		}
	}
	return aliases, nil
}

// NetworkAliases returns the names the service has on network n (its
// own name, then its aliases there; DefaultNetwork for the project's).
func (s *ServiceSpec) NetworkAliases(n string) []string {
	return append([]string{s.Name}, s.Aliases[n]...)
}
