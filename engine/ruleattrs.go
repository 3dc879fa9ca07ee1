package engine

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Triggers: when `ferry watch` runs a rule.
const (
	TriggerAuto   = "auto"   // at the start of the watch, and when its inputs change
	TriggerManual = "manual" // only when asked: `ferry trigger RULE` or a key in the view
)

// RuleAttrParams are the parameters that every rule builtin shares to say
// when the rule runs: trigger and profiles. Append them to a builtin's
// Params and call SetRuleAttrs in its Impl.
var RuleAttrParams = []Param{
	{Name: "trigger", Type: String, Default: `"auto"`, Doc: "When `ferry watch` runs the rule: `\"auto\"` at the start and when its inputs change; " +
		"`\"manual\"` only when asked, by `ferry trigger NAME` or a key in the watch's status view. Outside the watch it changes nothing."},
	{Name: "profiles", Type: StringList, Default: "[]", Doc: "Profiles the rule belongs to: a rule with profiles is left out of the rules that run when none is named, " +
		"unless `--profile NAME` (or `FERRY_PROFILES`) enables one of them. Naming the rule still runs it."},
}

var validProfile = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// SetRuleAttrs checks trigger and profiles and records them in info.
func SetRuleAttrs(c *Call, info *RuleInfo) error {
	switch t := c.String("trigger"); t {
	case "", TriggerAuto:
	case TriggerManual:
		info.Manual = true
	default:
		return c.Errorf("trigger: got %q, want %q or %q", t, TriggerAuto, TriggerManual)
	}
	for _, p := range c.Strings("profiles") {
		if !validProfile.MatchString(p) {
			return c.Errorf("profiles: %q is not a profile name: want letters, digits, '-', '_' and '.', starting with a letter or digit", p)
		}
	}
	info.Profiles = c.Strings("profiles")
	return nil
}

// EnableProfiles sets the profiles whose rules Select includes when no rule
// is named. A profile that no rule declares is an error, with a suggestion:
// a typo would otherwise silently select nothing more.
func (g *Graph) EnableProfiles(names []string) error {
	known := map[string]bool{}
	for _, n := range g.order {
		for _, p := range g.rules[n].Info().Profiles {
			known[p] = true
		}
	}
	g.profiles = map[string]bool{}
	for _, p := range names {
		if !known[p] {
			all := make([]string, 0, len(known))
			for k := range known {
				all = append(all, k)
			}
			sort.Strings(all)
			msg := fmt.Sprintf("--profile %s: no rule has this profile", p)
			switch s := Suggest(p, all); {
			case s != "":
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			case len(all) > 0:
				msg += "; the profiles in use are " + strings.Join(all, ", ")
			default:
				msg += "; no rule declares profiles (profiles = [...])"
			}
			return fmt.Errorf("%s", msg)
		}
		g.profiles[p] = true
	}
	return nil
}

// ProfileEnabled reports whether a rule's profiles let it run when no rule
// is named: it has none, or one of them is enabled.
func (g *Graph) ProfileEnabled(info *RuleInfo) bool {
	return len(info.Profiles) == 0 || slices.ContainsFunc(info.Profiles, func(p string) bool { return g.profiles[p] })
}

// inDefaultSet reports whether a rule runs when no rule is named.
func (g *Graph) inDefaultSet(info *RuleInfo) bool {
	return info.Default && g.ProfileEnabled(info)
}

// ParseProfiles splits the value of FERRY_PROFILES: names separated by
// commas or spaces.
func ParseProfiles(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
