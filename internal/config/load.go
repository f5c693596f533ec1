package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Env is a set of environment variables: [OSEnv] in production, a literal map in tests.
type Env map[string]string

// OSEnv returns the process environment.
func OSEnv() Env {
	env := Env{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// Load reads the YAML file at path, expands `${VAR}` references, applies the
// IDVBUS_ environment overrides and the per-item defaults, and validates the
// result. Warnings (settings that are legal but suspicious) come back alongside.
func Load(path string, env Env) (Config, []string, error) {
	l, err := LoadFile(path, env)
	return l.Config, l.Warnings, err
}

// Loaded is a loaded and validated config with what `idvbus config print`
// and the start-up log say about it.
type Loaded struct {
	Config   Config
	Warnings []string
	// Origins says where each setting's value came from.
	Origins Origins
	// File is the config file read; empty for the development setup.
	File string
	// Chosen says how File was chosen: "--config" or "IDVBUS_CONFIG";
	// empty for the development setup (see [Loaded.Describe]).
	Chosen string
}

// Describe says in one line which config this is and why, for the start-up
// log and `config print`: `config file x.yaml (from IDVBUS_CONFIG)`.
func (l Loaded) Describe() string {
	switch {
	case l.File == "":
		return "no config file (no --config, no IDVBUS_CONFIG): the development setup"
	case l.Chosen == "":
		return "config file " + l.File
	}
	return fmt.Sprintf("config file %s (from %s)", l.File, l.Chosen)
}

// LoadFile is [Load] with the origin of every setting.
func LoadFile(path string, env Env) (Loaded, error) {
	l := Loaded{Origins: Origins{}, File: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return l, fmt.Errorf("config: %w", err)
	}
	cfg, err := parse(data, env, l.Origins)
	if err != nil {
		return l, fmt.Errorf("config %s: %w", path, err)
	}
	l.Config, l.Warnings, err = finish(cfg, env, l.Origins)
	return l, err
}

// LoadDevelopment returns the development setup ([Development]) with the
// IDVBUS_ overrides of env applied, validated, with the origin of every setting.
func LoadDevelopment(env Env) (Loaded, error) {
	l := Loaded{Origins: Origins{}}
	dev := Development()
	markDevelopment(dev, l.Origins)
	var err error
	l.Config, l.Warnings, err = finish(dev, env, l.Origins)
	return l, err
}

// Parse decodes a YAML document over [Default], expanding `${VAR}` and
// `${VAR:-fallback}` inside values. Unknown keys are errors (a misspelt key
// would otherwise silently keep its default). Write `$${` for a literal `${`.
func Parse(data []byte, env Env) (Config, error) {
	return parse(data, env, nil)
}

// parse is [Parse], recording in o (when not nil) the settings the file sets.
func parse(data []byte, env Env, o Origins) (Config, error) {
	cfg := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, err
	}
	if root.Kind == 0 { // empty file
		return cfg, nil
	}
	if err := expandNode(&root, "", env); err != nil {
		return Config{}, err
	}
	// Re-encode the expanded tree and decode it strictly: yaml.v3 only checks
	// unknown fields when decoding from bytes.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&root); err != nil {
		return Config{}, err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	if o != nil {
		markFile(&root, reflect.TypeOf(cfg), "", o)
	}
	return cfg, nil
}

// Finish applies environment overrides and per-item defaults, then validates.
func Finish(cfg Config, env Env) (Config, []string, error) {
	return finish(cfg, env, nil)
}

// finish is [Finish], recording origins in o when it is not nil.
func finish(cfg Config, env Env, o Origins) (Config, []string, error) {
	warnings, err := applyEnv(&cfg, env, o)
	if err != nil {
		return Config{}, warnings, err
	}
	applyItemDefaults(&cfg, o)
	if err := cfg.Validate(); err != nil {
		return Config{}, warnings, err
	}
	return cfg, append(warnings, cfg.warnings()...), nil
}

// expandNode replaces ${VAR} references in every scalar below n.
func expandNode(n *yaml.Node, path string, env Env) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandNode(c, path, env); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := expandNode(n.Content[i+1], joinPath(path, n.Content[i].Value), env); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandNode(c, path+"["+strconv.Itoa(i)+"]", env); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		v, err := Expand(n.Value, env)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		n.Value = v
		// An expanded value is always a string ("${PORT}" stays text); let the
		// decoder convert it to the field's type (yaml.v3 converts strings to
		// durations and, with the tag cleared, to numbers and booleans).
		if n.Style == 0 {
			n.Tag = ""
		}
	}
	return nil
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// Expand replaces `${VAR}` and `${VAR:-fallback}` in s. An unset VAR without a
// fallback is an error (a missing secret must stop start-up, not become "").
// `$${` stands for a literal `${`.
func Expand(s string, env Env) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // escaped: "$${" → "${"
			b.WriteString(s[:i])
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in value")
		}
		expr := s[i+2 : i+end]
		name, fallback, hasFallback := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("${%s}: %q is not a valid environment variable name", expr, name)
		}
		v, ok := env[name]
		switch {
		case ok:
			b.WriteString(v)
		case hasFallback:
			b.WriteString(fallback)
		default:
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
