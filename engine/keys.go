package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
)

// keyed is a rule's key with the parts it was computed from, kept so the
// reasons for a rerun can be told.
type keyed struct {
	key Digest
	def Digest
	// own is the digest of the definition without the shared modules that
	// declared the rule, and modules are those; both zero for a rule that
	// none declared, whose def is its own.
	own     Digest
	modules []ModuleStamp
	inputs  []FileSum
	deps    map[string]Digest
	// secrets holds the HMACs of the values of the secrets the rule passes
	// on, by secretKey; nil for a rule without secrets.
	secrets map[string]Digest
}

// How key treats the secrets of a SecretUser rule.
const (
	// assumeSecrets takes the HMACs recorded at the last success: plan
	// never reads a secret, so it cannot see a rotated value.
	assumeSecrets = false
	// readSecrets reads the values (only when the rule may run) and
	// counts their HMACs, so a rotated value reruns the rule.
	readSecrets = true
)

// key computes r's key from its definition, the contents of its inputs, the
// keys of its deps and, for a rule that passes secrets on, the HMACs of
// their values (see readSecrets). Unchanged files cost one stat each.
func (e *Engine) key(ctx context.Context, r Rule, depKeys map[string]Digest, secrets bool) (*keyed, error) {
	info := r.Info()
	dh, release := pooledHasher()
	dh.String(info.Kind)
	var own *Hasher
	if len(info.Modules) > 0 {
		own = NewHasher().String(info.Kind)
		for _, m := range info.Modules {
			dh.String("module").String(m.Alias).String(m.Hash)
		}
		dh.Also(own)
	}
	err := r.Definition(ctx, dh)
	def := dh.Sum()
	release()
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
	}
	k := &keyed{def: def, deps: map[string]Digest{}}
	if own != nil {
		k.own, k.modules = own.Sum(), info.Modules
	}
	inputs, err := r.Inputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
	}
	k.inputs, err = e.Index.Sums(inputs)
	if err != nil {
		return nil, e.inputError(info, err)
	}
	h, release := pooledHasher()
	defer release()
	h.String("ferry-key-v1").Digest(k.def)
	for _, f := range k.inputs {
		h.String(f.Path).Digest(f.Sum)
	}
	var deps []string
	for _, d := range info.Deps {
		if !slices.Contains(info.OrderOnly, d) {
			deps = append(deps, d)
		}
	}
	sort.Strings(deps)
	for _, d := range deps {
		k.deps[d] = depKeys[d]
		h.String(d).Digest(depKeys[d])
	}
	if k.secrets, err = e.secretSums(ctx, r, secrets); err != nil {
		return nil, err
	}
	for _, s := range slices.Sorted(maps.Keys(k.secrets)) {
		h.String("secret").String(s).Digest(k.secrets[s])
	}
	k.key = h.Sum()
	return k, nil
}

// secretSums returns the HMACs of the values of r's secrets, read now or,
// with assumeSecrets, as recorded at its last success. An optional secret
// without a value counts as the zero digest.
func (e *Engine) secretSums(ctx context.Context, r Rule, read bool) (map[string]Digest, error) {
	u, ok := r.(SecretUser)
	if !ok {
		return nil, nil
	}
	list := u.Secrets()
	if len(list) == 0 {
		return nil, nil
	}
	if !read {
		if prev := e.State.Rule(r.Info().Name); prev != nil {
			return prev.Secrets, nil
		}
		return nil, nil
	}
	sums := make(map[string]Digest, len(list))
	for _, s := range list {
		keyed, err := s.Keyed(ctx, e.Workspace)
		switch {
		case errors.Is(err, ErrSecretAbsent):
			sums[secretKey(s)] = Digest{}
		case err != nil:
			info := r.Info()
			return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
		default:
			sums[secretKey(s)] = HashBytes([]byte(keyed))
		}
	}
	return sums, nil
}

// secretKey names a secret in the state: two secrets may share a name.
func secretKey(s Secret) string { return s.SecretName() + " from " + s.Source() }

func (e *Engine) inputError(info *RuleInfo, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
		p := pe.Path
		if rel, err := e.Workspace.Rel(p); err == nil {
			p = rel
		}
		return fmt.Errorf("%s %q (declared at %s): input %s does not exist; create it, or fix srcs (a dep that generates it must be listed in deps, and globs are expanded when ferry.star is read)", info.Kind, info.Name, info.Pos, p)
	}
	return fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
}

// reasons says why r must run, or returns nil when its last success is
// still good: same key and every declared output as it was left.
func (e *Engine) reasons(ctx context.Context, r Rule, k *keyed, force bool) ([]string, error) {
	info := r.Info()
	var why []string
	switch {
	case force:
		why = append(why, "forced (--force)")
	case info.NoCache:
		why = append(why, "cache = False: runs every time")
	}
	prev := e.State.Rule(info.Name)
	if prev == nil {
		return append(why, "never ran"), nil
	}
	if prev.Def != k.def {
		why = append(why, defChanges(prev, k)...)
	}
	var depChanged []string
	for d, key := range k.deps {
		if prev.Deps[d] != key {
			depChanged = append(depChanged, d)
		}
	}
	sort.Strings(depChanged)
	for _, d := range depChanged {
		why = append(why, fmt.Sprintf("dep %s changed", d))
	}
	if prev.Key != k.key { // the key covers every input: compare them only when it differs
		why = append(why, inputChanges(prev.Inputs, k.inputs)...)
		why = append(why, secretChanges(prev.Secrets, k.secrets)...)
	}
	for _, out := range r.Outputs() {
		sum, err := e.Index.Hash(out)
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("output %s missing", out))
		case !hasSum(prev.Outputs, out, sum):
			why = append(why, fmt.Sprintf("output %s was modified", out))
		}
	}
	if len(why) == 0 && prev.Key != k.key {
		why = append(why, "key changed")
	}
	if info.Serve && len(why) == 0 && !e.Servers.Running(info.Name, k.key) {
		why = append(why, "server not running")
	}
	if o, ok := r.(Observer); ok && len(why) == 0 {
		present, reason, err := o.Observe(ctx, k.key)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
		}
		if !present {
			why = append(why, reason)
		}
	}
	return why, nil
}

// defChanges says what changed in a rule's definition: the shared modules
// that declared it ("module @lib changed (v1.2.0 → v1.3.0)"), the rule's
// own definition, or both. A last success recorded without the modules
// (by a ferry before they were recorded, or a rule no module declared)
// tells nothing apart: "definition changed".
func defChanges(prev *RuleState, k *keyed) []string {
	if prev.Modules == nil || k.modules == nil {
		return []string{"definition changed"}
	}
	var why []string
	old := map[string]ModuleStamp{}
	for _, m := range prev.Modules {
		old[m.Alias] = m
	}
	for _, m := range k.modules {
		p, ok := old[m.Alias]
		delete(old, m.Alias)
		switch {
		case !ok:
			why = append(why, fmt.Sprintf("module @%s now declares it", m.Alias))
		case p.Hash == m.Hash:
		case p.Version != "" && m.Version != "" && p.Version != m.Version:
			why = append(why, fmt.Sprintf("module @%s changed (%s → %s)", m.Alias, p.Version, m.Version))
		case m.Version != "":
			why = append(why, fmt.Sprintf("module @%s changed (its files, at %s)", m.Alias, m.Version))
		default:
			why = append(why, fmt.Sprintf("module @%s changed", m.Alias))
		}
	}
	for _, a := range slices.Sorted(maps.Keys(old)) {
		why = append(why, fmt.Sprintf("module @%s no longer declares it", a))
	}
	if prev.OwnDef != k.own || len(why) == 0 {
		why = append(why, "definition changed")
	}
	return why
}

func hasSum(sums []FileSum, path string, sum Digest) bool {
	for _, s := range sums {
		if s.Path == path {
			return s.Sum == sum
		}
	}
	return false
}

// inputChanges lists changed, added and removed inputs, naming at most a few.
func inputChanges(prev, cur []FileSum) []string {
	old := make(map[string]Digest, len(prev))
	for _, f := range prev {
		old[f.Path] = f.Sum
	}
	var changed []string
	for _, f := range cur {
		sum, ok := old[f.Path]
		switch {
		case !ok:
			changed = append(changed, f.Path+" added")
		case sum != f.Sum:
			changed = append(changed, f.Path+" changed")
		}
		delete(old, f.Path)
	}
	var removed []string
	for p := range old {
		removed = append(removed, p+" removed")
	}
	sort.Strings(removed)
	changed = append(changed, removed...)
	const most = 3
	if len(changed) > most {
		return append(changed[:most], fmt.Sprintf("%d more inputs changed", len(changed)-most))
	}
	return changed
}

// secretChanges says which secrets' values changed, by name and source
// (the state holds only HMACs: it cannot tell more).
func secretChanges(prev, cur map[string]Digest) []string {
	var why []string
	for _, s := range slices.Sorted(maps.Keys(cur)) {
		old, known := prev[s]
		switch {
		case !known: // a secret added to the definition: "definition changed" says it
		case old == cur[s]:
		case old == Digest{}:
			why = append(why, "secret "+s+" now has a value")
		case cur[s] == Digest{}:
			why = append(why, "secret "+s+" no longer has a value")
		default:
			why = append(why, "secret "+s+" changed")
		}
	}
	return why
}

// changedPaths lists the inputs whose contents differ from the last success.
// changedDeps returns the deps whose keys differ between prev and cur (or
// that only one has), sorted.
func changedDeps(prev, cur map[string]Digest) []string {
	var out []string
	for d, k := range cur {
		if pk, ok := prev[d]; !ok || pk != k {
			out = append(out, d)
		}
	}
	for d := range prev {
		if _, ok := cur[d]; !ok {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func changedPaths(prev *RuleState, k *keyed) []string {
	if prev == nil {
		return nil
	}
	old := make(map[string]Digest, len(prev.Inputs))
	for _, f := range prev.Inputs {
		old[f.Path] = f.Sum
	}
	var out []string
	for _, f := range k.inputs {
		if old[f.Path] != f.Sum {
			out = append(out, f.Path)
		}
		delete(old, f.Path)
	}
	for p := range old {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ReasonText joins reasons for display.
func ReasonText(why []string) string { return strings.Join(why, "; ") }

// Keys computes the keys of the selected rules and their deps, in run
// order, as Plan does: from the secret HMACs recorded at each rule's last
// success, reading no secret. `ferry render` names what it renders by them.
func (e *Engine) Keys(ctx context.Context, names []string) (map[string]Digest, error) {
	sel, err := e.Graph.Select(names)
	if err != nil {
		return nil, err
	}
	keys := map[string]Digest{}
	for _, n := range sel {
		k, err := e.key(ctx, e.Graph.Rule(n), keys, assumeSecrets)
		if err != nil {
			return nil, err
		}
		keys[n] = k.key
	}
	return keys, nil
}
