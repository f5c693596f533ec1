package config

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Keys is what docs/config.md and the schema are generated from; these
// tests prove it equal to what the loader reads: every variable ApplyEnv
// looks up and every key the file decoder accepts is a Key, and every Key is
// both.
func TestKeysAreTheSettingsTheLoaderReads(t *testing.T) {
	cfg := Default()
	cfg.Sources = []Source{{Name: "my-src"}}
	cfg.Subscribers = []Subscriber{{Name: "sub-1"}}
	loader := map[string]string{} // path → variable, as ApplyEnv walks them
	walkSettings(reflect.ValueOf(&cfg).Elem(), "IDVBUS", "", func(env, path string, v reflect.Value) {
		if !EnvSettable(v.Type()) {
			env = ""
		}
		loader[path] = env
	})
	documented := map[string]string{}
	for _, k := range Keys() {
		path := strings.Replace(k.Path, "[]", "[0]", 1)
		env := k.Env
		if strings.HasPrefix(k.Path, "sources[]") {
			env = strings.Replace(env, ItemPlaceholder, "MY_SRC", 1)
		} else {
			env = strings.Replace(env, ItemPlaceholder, "SUB_1", 1)
		}
		if k.Field.Name == "" || k.Owner == nil {
			t.Errorf("%s: no field to take its description from", k.Path)
		}
		documented[path] = env
	}
	if !reflect.DeepEqual(loader, documented) {
		for p, e := range loader {
			if d, ok := documented[p]; !ok || d != e {
				t.Errorf("the loader reads %s (%s), Keys says %q", p, e, d)
			}
		}
		for p := range documented {
			if _, ok := loader[p]; !ok {
				t.Errorf("Keys lists %s, which the loader does not read", p)
			}
		}
	}
	if len(documented) < 80 {
		t.Errorf("only %d keys", len(documented))
	}
}

// A file that sets every Key, to its default, decodes strictly (no unknown
// key) and gives the defaults back.
func TestAFileWithEveryKeyLoads(t *testing.T) {
	root := map[string]any{}
	for _, k := range Keys() {
		m := root
		segs := strings.Split(k.Path, ".")
		for _, s := range segs[:len(segs)-1] {
			name, list := strings.CutSuffix(s, "[]")
			if list {
				if _, ok := m[name]; !ok {
					m[name] = []any{map[string]any{}}
				}
				m = m[name].([]any)[0].(map[string]any)
				continue
			}
			if _, ok := m[name]; !ok {
				m[name] = map[string]any{}
			}
			m = m[name].(map[string]any)
		}
		m[segs[len(segs)-1]] = yamlValue(k.Default)
	}
	data, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	o := Origins{}
	cfg, err := parse(data, Env{}, o)
	if err != nil {
		t.Fatalf("a file with every documented key does not decode: %v\n%s", err, data)
	}
	if want := Default(); !reflect.DeepEqual(cfg.NATS, want.NATS) || !reflect.DeepEqual(cfg.Normalizer, want.Normalizer) {
		t.Errorf("the defaults did not come back:\n%+v\n%+v", cfg.NATS, want.NATS)
	}
	var notFile []string
	for _, k := range Keys() {
		if p := strings.Replace(k.Path, "[]", "[0]", 1); o.Of(p).Kind != FromFile {
			notFile = append(notFile, p)
		}
	}
	sort.Strings(notFile)
	if len(notFile) > 0 {
		t.Errorf("set by the file but not recorded as such: %v", notFile)
	}
}

// yamlValue writes a default as a file would (durations as "5s").
func yamlValue(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return FormatDuration(x)
	case []time.Duration:
		out := make([]string, len(x))
		for i, d := range x {
			out[i] = FormatDuration(d)
		}
		return out
	}
	return v
}
