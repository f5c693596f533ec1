package config

import (
	"reflect"
	"strings"
	"time"
)

// Key is one setting the loader reads: a YAML path of the config file and
// the IDVBUS_ variable that overrides it. [Keys] lists them from the Config
// struct itself, with the same walk [ApplyEnv] uses, so a field added to the
// struct (with its yaml tag and doc comment) is a key everywhere at once:
// file, environment, `idvbus config print`, docs/config.md and
// schemas/config.schema.json (internal/config/gen).
type Key struct {
	// Path is the YAML path; items of a named list are written "[]":
	// "nats.url", "sources[].auth.secrets".
	Path string
	// Env is the overriding variable; for items of a named list it holds
	// "<NAME>", the item's name in upper case with "-" as "_":
	// IDVBUS_SOURCES_<NAME>_AUTH_SECRETS. Empty when the setting cannot be set
	// from the environment (a map such as sources[].results).
	Env string
	// Type is the Go type of the setting.
	Type reflect.Type
	// Owner is the struct type that declares the field, and Field the field:
	// the generator reads the field's doc comment as the key's description.
	Owner reflect.Type
	Field reflect.StructField
	// Default is the value used when neither the file nor the environment
	// sets it: from [Default] for the top-level sections, from the per-item
	// defaults for sources[] and subscribers[] items.
	Default any
}

// ItemPlaceholder stands for a list item's name in [Key.Env].
const ItemPlaceholder = "<NAME>"

var durationType = reflect.TypeOf(time.Duration(0))

// Keys returns every setting, in the order of the Config struct.
func Keys() []Key {
	var keys []Key
	walkKeys(reflect.ValueOf(Default()), nil, strings.TrimSuffix(EnvPrefix, "_"), "", nil, &keys)
	return keys
}

// walkKeys appends the settings below v (a value of the struct owner, the
// field f of which v is, or nil at the root) to keys.
func walkKeys(v reflect.Value, owner reflect.Type, envName, path string, f *reflect.StructField, keys *[]Key) {
	t := v.Type()
	switch {
	case isLeaf(t):
		k := Key{Path: path, Env: envName, Type: t, Owner: owner, Default: v.Interface()}
		if f != nil {
			k.Field = *f
		}
		if !EnvSettable(t) {
			k.Env = ""
		}
		*keys = append(*keys, k)
	case t.Kind() == reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := yamlName(sf)
			if tag == "" {
				continue
			}
			walkKeys(v.Field(i), t, envName+"_"+strings.ToUpper(tag), joinPath(path, tag), &sf, keys)
		}
	default: // a list of named items: the defaults of one item
		item := reflect.New(t.Elem())
		if d, ok := item.Interface().(interface{ setDefaults() }); ok {
			d.setDefaults()
		}
		walkKeys(item.Elem(), owner, envName+"_"+ItemPlaceholder, path+"[]", f, keys)
	}
}

// isLeaf reports whether a value of type t is one setting (a scalar, a list
// of scalars, a duration or a map) rather than a section or a list of items.
func isLeaf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Struct
	}
	return true
}

// yamlName is the key of a struct field in the file; "" for fields that are none.
func yamlName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// EnvSettable reports whether a setting of type t can be set from an
// IDVBUS_ variable: scalars, durations, and lists of strings or durations
// (comma-separated).
func EnvSettable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem() == durationType || t.Elem().Kind() == reflect.String
	}
	return false
}

// envItemName is how a list item's name appears in its variables: upper
// case, "-" as "_". Two names with the same envItemName would share their
// variables, so [Config.Validate] refuses them.
func envItemName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// isSecretKey reports whether the setting at path holds a secret (or names
// where one is kept), so that `config print` masks its value: the last
// segment of the path contains secret, password, token or key.
func isSecretKey(path string) bool {
	last := path[strings.LastIndexAny(path, ".]")+1:]
	for _, w := range []string{"secret", "password", "token", "key"} {
		if strings.Contains(last, w) {
			return true
		}
	}
	return false
}
