package config

import (
	"fmt"
	"reflect"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// OriginKind says which step of loading gave a setting its value.
type OriginKind string

// The steps, in the order they apply (later ones win).
const (
	// FromDefault: neither the file nor the environment set it ([Default],
	// or the per-item defaults of sources and subscribers).
	FromDefault OriginKind = "default"
	// FromDevelopment: the development setup ([Development]) set it.
	FromDevelopment OriginKind = "development setup"
	// FromFile: the config file set it, `${VAR}` expansions included.
	FromFile OriginKind = "file"
	// FromEnv: an IDVBUS_ variable set it ([Origin.Env] names it).
	FromEnv OriginKind = "env"
)

// Origin is where one setting's value came from.
type Origin struct {
	Kind OriginKind
	// Env is the IDVBUS_ variable, for [FromEnv].
	Env string
}

// String is "default", "file", "development setup" or "env IDVBUS_...".
func (o Origin) String() string {
	if o.Kind == FromEnv {
		return string(o.Kind) + " " + o.Env
	}
	return string(o.Kind)
}

// Origins maps a setting's path ("nats.url", "sources[0].auth.secrets", as
// in [Config.Validate]'s messages) to where its value came from. The loader
// records it as it applies each step; a path it holds no entry for kept its
// default.
type Origins map[string]Origin

// Of returns the origin of the setting at path.
func (o Origins) Of(path string) Origin {
	if v, ok := o[path]; ok {
		return v
	}
	return Origin{Kind: FromDefault}
}

// markFile records as [FromFile] every setting the YAML tree n (already
// `${VAR}`-expanded) sets, n being the value of a Go type t at path.
func markFile(n *yaml.Node, t reflect.Type, path string, o Origins) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			markFile(c, t, path, o)
		}
		return
	}
	if isLeaf(t) {
		o[path] = Origin{Kind: FromFile}
		return
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		// "section:" with nothing after it: the decoder zeroes the section,
		// so the file decided every setting in it.
		markAllFile(t, path, o)
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" { // merged mapping(s)
				markFile(v, t, path, o)
				if v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						markFile(m, t, path, o)
					}
				}
				continue
			}
			for f := 0; f < t.NumField(); f++ {
				if yamlName(t.Field(f)) == k.Value {
					markFile(v, t.Field(f).Type, joinPath(path, k.Value), o)
				}
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			markFile(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", o)
		}
	}
}

// markAllFile records every setting of a section of type t as [FromFile]
// (not list items: a zeroed list has none).
func markAllFile(t reflect.Type, path string, o Origins) {
	if isLeaf(t) {
		o[path] = Origin{Kind: FromFile}
		return
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			if tag := yamlName(t.Field(i)); tag != "" {
				markAllFile(t.Field(i).Type, joinPath(path, tag), o)
			}
		}
	}
}

// settingValues returns every setting below cfg by path, list items by index.
func settingValues(cfg *Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	walkAll(reflect.ValueOf(cfg).Elem(), "", func(path string, v reflect.Value) { out[path] = v })
	return out
}

// walkAll calls fn for every setting below v, list items by index whether
// or not they have a name (unlike walkSettings, which addresses items by name).
func walkAll(v reflect.Value, path string, fn func(path string, v reflect.Value)) {
	t := v.Type()
	switch {
	case isLeaf(t):
		fn(path, v)
	case t.Kind() == reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if tag := yamlName(t.Field(i)); tag != "" {
				walkAll(v.Field(i), joinPath(path, tag), fn)
			}
		}
	default:
		for i := 0; i < v.Len(); i++ {
			walkAll(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// markDevelopment records as [FromDevelopment] what [Development] sets
// differently from [Default]: its changed settings and its sources' settings
// (a source's zero settings keep their per-item defaults).
func markDevelopment(dev Config, o Origins) {
	def := Default()
	defVals := settingValues(&def)
	for path, v := range settingValues(&dev) {
		d, ok := defVals[path]
		if (ok && !reflect.DeepEqual(v.Interface(), d.Interface())) || (!ok && !v.IsZero()) {
			o[path] = Origin{Kind: FromDevelopment}
		}
	}
}

// applyItemDefaults fills the per-item defaults of sources and subscribers.
// A setting that was zero and is filled got its value from a default, even if
// the file or the environment wrote the zero (`timeout: 0` means the default).
func applyItemDefaults(cfg *Config, o Origins) {
	before := map[string]bool{}
	for path, v := range settingValues(cfg) {
		before[path] = v.IsZero()
	}
	for i := range cfg.Sources {
		cfg.Sources[i].setDefaults()
	}
	for i := range cfg.Subscribers {
		cfg.Subscribers[i].setDefaults()
	}
	if o == nil {
		return
	}
	for path, v := range settingValues(cfg) {
		if before[path] && !v.IsZero() {
			delete(o, path)
		}
	}
}
