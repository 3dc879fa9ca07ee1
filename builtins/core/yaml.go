package core

import (
	"fmt"
	"math/big"
	"sort"

	"go.starlark.net/starlark"
	"go.yaml.in/yaml/v3"

	"github.com/ferryhq/ferry/engine"
)

var (
	yamlEncode = &engine.Builtin{
		Name:     "yaml.encode",
		Reusable: true,
		Doc:      "Encodes a value (None, bool, int, float, string, list, tuple, dict with string keys) as YAML.",
		Params:   []engine.Param{{Name: "x", Type: engine.AnyValue, Required: true, Positional: true, Doc: "The value."}},
		Returns:  "the YAML text.",
		Impl: func(_ *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			v, err := toGo(c.Raw("x"))
			if err != nil {
				return nil, fmt.Errorf("yaml.encode: %v", err)
			}
			b, err := yaml.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("yaml.encode: %v", err)
			}
			return starlark.String(b), nil
		},
	}
	yamlDecode = &engine.Builtin{
		Name:     "yaml.decode",
		Reusable: true,
		Doc:      "Decodes YAML text (the first document) into Starlark values: maps become dicts, sequences lists.",
		Params:   []engine.Param{{Name: "x", Type: engine.String, Required: true, Positional: true, Doc: "The YAML text."}},
		Returns:  "the decoded value.",
		Impl: func(_ *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			var v any
			if err := yaml.Unmarshal([]byte(c.String("x")), &v); err != nil {
				return nil, fmt.Errorf("yaml.decode: %v", err)
			}
			return fromGo(v)
		},
	}
)

func toGo(v starlark.Value) (any, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if n, ok := v.Int64(); ok {
			return n, nil
		}
		return v.BigInt(), nil
	case starlark.Float:
		return float64(v), nil
	case starlark.String:
		return string(v), nil
	case *starlark.Dict:
		m := yaml.Node{Kind: yaml.MappingNode}
		for _, item := range v.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s: got %s, want string", item[0], item[0].Type())
			}
			val, err := toGo(item[1])
			if err != nil {
				return nil, err
			}
			var kn, vn yaml.Node
			kn.SetString(string(k))
			if err := vn.Encode(val); err != nil {
				return nil, err
			}
			m.Content = append(m.Content, &kn, &vn)
		}
		return &m, nil
	case starlark.Indexable: // list, tuple
		out := make([]any, v.Len())
		for i := range out {
			x, err := toGo(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode %s", v.Type())
}

func fromGo(v any) (starlark.Value, error) {
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case uint64:
		return starlark.MakeUint64(v), nil
	case *big.Int:
		return starlark.MakeBigInt(v), nil
	case float64:
		return starlark.Float(v), nil
	case string:
		return starlark.String(v), nil
	case []any:
		out := make([]starlark.Value, len(v))
		for i, x := range v {
			sv, err := fromGo(x)
			if err != nil {
				return nil, err
			}
			out[i] = sv
		}
		return starlark.NewList(out), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(v))
		for _, k := range keys {
			sv, err := fromGo(v[k])
			if err != nil {
				return nil, err
			}
			d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	}
	return nil, fmt.Errorf("yaml.decode: unsupported value %T", v)
}
