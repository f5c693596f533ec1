package config

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Masked replaces a secret's value in [Print]'s output.
const Masked = "***"

// Setting is one line of [Print]'s JSON output.
type Setting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Origin string `json:"origin"`
	// Env is the variable that would override it; empty when none can.
	Env string `json:"env,omitempty"`
}

// printed is [Print]'s JSON document.
type printed struct {
	Config   string    `json:"config"`
	File     string    `json:"file,omitempty"`
	Chosen   string    `json:"chosen,omitempty"`
	Warnings []string  `json:"warnings"`
	Settings []Setting `json:"settings"`
}

// Print writes the effective config l, every setting with where its value
// came from (`idvbus config print`): as YAML with one comment per value, or
// with asJSON as one JSON object on one line. Secrets never appear: every setting whose
// name holds secret, password, token or key shows [Masked] for each value it
// has, and URLs lose their passwords and query values.
func Print(w io.Writer, l Loaded, asJSON bool) error {
	envNames := map[string]string{}
	walkSettings(reflect.ValueOf(&l.Config).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "",
		func(name, path string, v reflect.Value) {
			if EnvSettable(v.Type()) {
				envNames[path] = name
			}
		})
	if asJSON {
		doc := printed{Config: l.Describe(), File: l.File, Chosen: l.Chosen, Warnings: l.Warnings, Settings: []Setting{}}
		if doc.Warnings == nil {
			doc.Warnings = []string{}
		}
		walkAll(reflect.ValueOf(&l.Config).Elem(), "", func(path string, v reflect.Value) {
			doc.Settings = append(doc.Settings, Setting{Key: path, Value: printable(path, v),
				Origin: l.Origins.Of(path).String(), Env: envNames[path]})
		})
		return json.NewEncoder(w).Encode(doc)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", l.Describe())
	b.WriteString("# Secrets are masked (" + Masked + "). The comment after each value says where it came from:\n")
	b.WriteString("# default, development setup, file (${VAR}s included) or env IDVBUS_...\n")
	for _, warning := range l.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", warning)
	}
	root, err := printNode(reflect.ValueOf(l.Config), "", l.Origins)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// printNode builds the YAML of the settings below v, each leaf commented with its origin.
func printNode(v reflect.Value, path string, o Origins) (*yaml.Node, error) {
	t := v.Type()
	switch {
	case isLeaf(t):
		n := &yaml.Node{}
		if err := n.Encode(printable(path, v)); err != nil {
			return nil, err
		}
		if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
			n.Style = yaml.FlowStyle
		}
		n.LineComment = o.Of(path).String()
		return n, nil
	case t.Kind() == reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < t.NumField(); i++ {
			tag := yamlName(t.Field(i))
			if tag == "" {
				continue
			}
			c, err := printNode(v.Field(i), joinPath(path, tag), o)
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: tag}, c)
		}
		return m, nil
	default:
		s := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Len() == 0 {
			s.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			c, err := printNode(v.Index(i), fmt.Sprintf("%s[%d]", path, i), o)
			if err != nil {
				return nil, err
			}
			s.Content = append(s.Content, c)
		}
		return s, nil
	}
}

// AsStrings returns v as a []string when it is a slice of another string
// type (a subscriber filter's []idv.Status, say), so that it is shown as
// the list of strings it is in the file; any other v is returned as it is.
func AsStrings(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.String {
		return v
	}
	if s, ok := v.([]string); ok {
		return s
	}
	if rv.IsNil() {
		return []string(nil)
	}
	out := make([]string, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).String()
	}
	return out
}

// printable is the value of the setting v at path as it may be shown:
// secrets masked, URLs without credentials, durations as text ("5s").
func printable(path string, v reflect.Value) any {
	secret := isSecretKey(path)
	switch x := AsStrings(v.Interface()).(type) {
	case string:
		switch {
		case secret && x != "":
			return Masked
		case strings.HasSuffix(path, "url") || strings.HasSuffix(path, "endpoint"):
			return redactURLs(x)
		}
		return x
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = s
			if secret {
				out[i] = Masked
			}
		}
		return out
	case time.Duration:
		return FormatDuration(x)
	case []time.Duration:
		out := make([]string, len(x))
		for i, d := range x {
			out[i] = FormatDuration(d)
		}
		return out
	}
	if secret && !v.IsZero() {
		return Masked
	}
	if v.Kind() == reflect.Map && v.IsNil() {
		return reflect.MakeMap(v.Type()).Interface() // {} rather than null
	}
	return v.Interface()
}

// redactURLs masks the password and the query values of each URL in a
// comma-separated list (nats.url has several): either may be a credential.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			if strings.ContainsAny(p, "@?") {
				parts[i] = Masked // unparsable, and may hold a credential
			}
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Masked)
		} else if u.User != nil && u.User.Username() != "" {
			u.User = url.User(Masked) // nats://token@host: the user is the token
		}
		if u.RawQuery != "" {
			q := u.Query()
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, url.QueryEscape(k)+"="+Masked)
			}
			sort.Strings(keys)
			u.RawQuery = strings.Join(keys, "&")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// FormatDuration writes d as the config files do: "720h", "2m", "1m30s",
// "0s" (time.Duration's String without its trailing zero units).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
