package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "IDVBUS_"

// envNotSettings are IDVBUS_ variables that are not settings.
var envNotSettings = map[string]bool{
	"IDVBUS_CONFIG":         true, // the config file's path
	"IDVBUS_REQUIRE_DOCKER": true, // tests: fail instead of skipping without Docker
	"IDVBUS_REBUILD_IMAGES": true, // tests: rebuild the local images
	"IDVBUS_CHAOS":          true, // tests: the fault suite's form (test/chaos)
}

// ApplyEnv overrides settings from IDVBUS_ variables. The name of a setting's
// variable is its YAML path in upper case joined by "_"; list items that have a
// name are addressed by it (dashes become "_"):
//
//	IDVBUS_NATS_URL=nats://n1:4222
//	IDVBUS_INGEST_MAX_BODY_BYTES=2097152
//	IDVBUS_JETSTREAM_RAW_MAX_AGE=168h
//	IDVBUS_SOURCES_PERSONA_AUTH_SECRETS=wbhsec_new,wbhsec_old   (lists: comma-separated)
//	IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_SCHEDULE=5s,1m,10m
//	IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_JITTER=0.1
//
// Only env reaches it, so tests are hermetic. An IDVBUS_ variable that names no
// setting comes back as a warning (it is most likely misspelt).
func ApplyEnv(cfg *Config, env Env) ([]string, error) {
	return applyEnv(cfg, env, nil)
}

// applyEnv is [ApplyEnv], recording in o (when not nil) the settings it sets.
func applyEnv(cfg *Config, env Env, o Origins) ([]string, error) {
	used := map[string]bool{}
	var known []string
	var errs []string
	walkSettings(reflect.ValueOf(cfg).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", func(name, path string, v reflect.Value) {
		known = append(known, name)
		val, ok := env[name]
		if !ok {
			return
		}
		used[name] = true
		if err := setFromString(v, val); err != nil {
			errs = append(errs, fmt.Sprintf("%s (%s): %v", path, name, err))
			return
		}
		if o != nil {
			o[path] = Origin{Kind: FromEnv, Env: name}
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	for name := range envNotSettings {
		known = append(known, name) // IDVBUS_CONFG most likely meant IDVBUS_CONFIG
	}
	sort.Strings(known) // one suggestion for one typo, whatever the map order
	var warnings []string
	for name := range env {
		if strings.HasPrefix(name, EnvPrefix) && !used[name] && !envNotSettings[name] {
			w := fmt.Sprintf("environment variable %s names no setting; ignored", name)
			if near := nearest(name, known); near != "" {
				w += " (did you mean " + near + "?)"
			}
			warnings = append(warnings, w)
		}
	}
	sort.Strings(warnings)
	return warnings, nil
}

// walkSettings calls fn for every scalar or scalar-list setting below v.
func walkSettings(v reflect.Value, envName, path string, fn func(envName, path string, v reflect.Value)) {
	t := v.Type()
	switch {
	case isLeaf(t):
		fn(envName, path, v)
	case t.Kind() == reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := yamlName(f)
			if tag == "" {
				continue
			}
			walkSettings(v.Field(i), envName+"_"+strings.ToUpper(tag), joinPath(path, tag), fn)
		}
	default: // a list of named items
		for i := 0; i < v.Len(); i++ {
			item := v.Index(i)
			name := item.FieldByName("Name")
			if !name.IsValid() || name.String() == "" {
				continue
			}
			walkSettings(item, envName+"_"+envItemName(name.String()), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// setFromString parses s into the setting v.
func setFromString(v reflect.Value, s string) error {
	if !EnvSettable(v.Type()) {
		return fmt.Errorf("cannot be set from the environment")
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem() == durationType {
			var ds []time.Duration
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				d, err := time.ParseDuration(p)
				if err != nil {
					return err
				}
				ds = append(ds, d)
			}
			v.Set(reflect.ValueOf(ds))
			return nil
		}
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		// Of the slice's own type: a filter's lists are []idv.Status and
		// the like, not []string.
		items := reflect.MakeSlice(v.Type(), 0, 0)
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				item := reflect.New(v.Type().Elem()).Elem()
				item.SetString(p)
				items = reflect.Append(items, item)
			}
		}
		v.Set(items)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// nearest returns the name in known closest to name if it is at most two
// edits away (a typo), else "".
func nearest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(name, k, bestDist); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is at
// least limit (names that differ in length by that much are not compared).
func editDistance(a, b string, limit int) int {
	if len(a)-len(b) >= limit || len(b)-len(a) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
