package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// variableFiles are the files whose IDVBUS_ and IDV_ names are checked: the
// docs, the compose files (comments included) and the configs they mount.
func variableFiles(t *testing.T) []string {
	files := append(docFiles(t), composeFiles...)
	files = append(files, "Makefile", "deploy/compose/idvbus.yaml", "deploy/cluster/idvbus.yaml",
		"deploy/idvbus.example.yaml", "examples/receive-webhooks/idvbus.yaml")
	var out []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// namesSetting reports whether name is an IDVBUS_ variable idvbus reads: a
// setting of the development setup (plus subscribers named as in the docs),
// or one of the variables that are not settings (IDVBUS_CONFIG...).
func namesSetting(name string) bool {
	cfg := config.Development()
	for _, n := range []string{"onboarding", "demo"} {
		cfg.Subscribers = append(cfg.Subscribers, config.Subscriber{Name: n})
	}
	// "1" may not parse for every setting: an error naming the variable
	// still means it names a setting.
	warnings, err := config.ApplyEnv(&cfg, config.Env{name: "1"})
	if err != nil {
		return strings.Contains(err.Error(), name)
	}
	return len(warnings) == 0
}

// composeVariables are the ${IDV_...} variables the compose files and the
// Makefile read.
func composeVariables(t *testing.T) map[string]bool {
	vars := map[string]bool{}
	for _, f := range append([]string{"Makefile"}, composeFiles...) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\$\{(IDV_[A-Z0-9_]+)`).FindAllStringSubmatch(string(data), -1) {
			vars[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\b(IDV_[A-Z0-9_]+)=\$\(`).FindAllStringSubmatch(string(data), -1) {
			vars[m[1]] = true // the Makefile's IDV_TAG=$(TAG)
		}
	}
	return vars
}

// checkVariable checks one NAME=value a doc's command sets.
func checkVariable(t *testing.T, s snippet, name, value string) {
	t.Helper()
	switch {
	case name == "IDVBUS_CONFIG":
		if _, err := os.Stat(filepath.Join(root, value)); err != nil {
			t.Errorf("%s: %q: IDVBUS_CONFIG names %s, which does not exist", s.where, s.text, value)
		}
	case strings.HasPrefix(name, config.EnvPrefix):
		if !namesSetting(name) {
			t.Errorf("%s: %q: %s names no setting", s.where, s.text, name)
		}
	case strings.HasPrefix(name, "IDV_"):
		if !composeVariables(t)[name] {
			t.Errorf("%s: %q: no compose file or make target reads %s", s.where, s.text, name)
		}
	}
}

// TestDocVariablesExist: every IDVBUS_ variable the docs, compose files and
// configs name is one idvbus reads, and every IDV_ one is read by a compose
// file (or the Makefile) — stream and bucket names aside.
func TestDocVariablesExist(t *testing.T) {
	topology := map[string]bool{bus.StreamRaw: true, bus.StreamEvents: true, bus.StreamDLQ: true,
		bus.BucketState: true, bus.BucketDeliveries: true}
	composeVars := composeVariables(t)
	word := regexp.MustCompile(`\b(IDVBUS|IDV)_[A-Z0-9_]*[A-Z0-9]\b([*…]?)`)
	found := 0
	for _, f := range variableFiles(t) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range word.FindAllStringSubmatch(line, -1) {
				name := strings.TrimSuffix(strings.TrimSuffix(m[0], "*"), "…")
				if m[2] != "" || topology[name] {
					continue // a family (IDVBUS_NATS_*) or a stream name
				}
				found++
				where := f + ":" + strconv.Itoa(i+1)
				if m[1] == "IDVBUS" && !namesSetting(name) {
					t.Errorf("%s: %s names no setting", where, name)
				}
				if m[1] == "IDV" && !composeVars[name] {
					t.Errorf("%s: %s is read by no compose file or make target", where, name)
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no variable found: the test is broken")
	}
}

// composeFile is what this test reads of a compose file.
type composeFile struct {
	Services map[string]struct {
		Environment any      `yaml:"environment"`
		Volumes     []string `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T, rel string) composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return c
}

// environment is a service's environment as a map (compose allows a map or
// a list of NAME=value); a value "${X:-d}" becomes d.
func environment(v any) map[string]string {
	env := map[string]string{}
	def := regexp.MustCompile(`^\$\{[A-Za-z0-9_]+:-(.*)\}$`)
	set := func(k, v string) {
		if m := def.FindStringSubmatch(v); m != nil {
			v = m[1]
		}
		env[k] = v
	}
	switch e := v.(type) {
	case map[string]any:
		for k, val := range e {
			s, _ := val.(string)
			set(k, s)
		}
	case []any:
		for _, item := range e {
			s, _ := item.(string)
			k, val, _ := strings.Cut(s, "=")
			set(k, val)
		}
	}
	return env
}

// mountedConfig is the host path (from the repository root) of the idvbus
// config a service mounts, "" if none.
func mountedConfig(composeRel string, volumes []string) string {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[1], "/etc/idvbus") && strings.HasSuffix(parts[0], ".yaml") {
			return filepath.Join(filepath.Dir(composeRel), parts[0])
		}
	}
	return ""
}

// yamlComments matches the comments of a YAML file ("#" at a line's start
// or after a blank), which may mention ${VAR} as prose.
var yamlComments = regexp.MustCompile(`(?m)(^|\s)#.*$`)

// TestComposeConfigVariables: each ${VAR} a mounted config reads without a
// default is in the environment of every service that mounts it, and each
// variable such a service sets is either an IDVBUS_ setting or read by the
// config (a renamed variable on one side only fails here).
func TestComposeConfigVariables(t *testing.T) {
	ref := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)
	for _, cf := range composeFiles {
		c := readCompose(t, cf)
		names := make([]string, 0, len(c.Services))
		for n := range c.Services {
			names = append(names, n)
		}
		sort.Strings(names)
		mounts := 0
		for _, name := range names {
			svc := c.Services[name]
			conf := mountedConfig(cf, svc.Volumes)
			if conf == "" {
				continue
			}
			mounts++
			data, err := os.ReadFile(filepath.Join(root, conf))
			if err != nil {
				t.Errorf("%s: service %s mounts %s: %v", cf, name, conf, err)
				continue
			}
			data = yamlComments.ReplaceAll(data, nil)
			reads := map[string]bool{}
			for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
				reads[m[1]] = true
			}
			env := environment(svc.Environment)
			for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
				if _, ok := env[m[1]]; !ok && m[2] == "" {
					t.Errorf("%s: service %s mounts %s, which reads ${%s} without a default, but its environment does not set it", cf, name, conf, m[1])
				}
			}
			for k := range env {
				if strings.HasPrefix(k, config.EnvPrefix) {
					if !namesSetting(k) {
						t.Errorf("%s: service %s sets %s, which names no setting", cf, name, k)
					}
					continue
				}
				if !reads[k] {
					t.Errorf("%s: service %s sets %s, which %s never reads", cf, name, k, conf)
				}
			}
		}
		if mounts == 0 {
			t.Errorf("%s: no service mounts an idvbus config: the test is broken", cf)
		}
	}
}

// TestDocLinksExist: every relative link of the docs points at a file or
// directory of the repository.
func TestDocLinksExist(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(f), target)); err != nil {
				t.Errorf("%s: link to %s: no such file", f, m[1])
			}
		}
	}
}

// checkCompose checks a docker-compose command line: the file (-f) exists,
// the services it names are in it, and `run idvctl ...` is an idvctl command
// idvctl accepts, with the config and environment the service gets.
func checkCompose(t *testing.T, s snippet, args []string, env map[string]string) {
	t.Helper()
	file := "docker-compose.yml"
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-f", "--file", "-p", "--project-name", "--profile", "--env-file":
			if args[0] == "-f" || args[0] == "--file" {
				file = args[1]
			}
			args = args[2:]
		default:
			args = args[1:]
		}
	}
	if _, err := os.Stat(filepath.Join(root, file)); err != nil {
		t.Errorf("%s: %q: no compose file %s", s.where, s.text, file)
		return
	}
	if len(args) == 0 {
		return
	}
	c := readCompose(t, file)
	sub, rest := args[0], args[1:]
	switch sub {
	case "logs", "stop", "start", "kill", "restart", "ps", "rm", "pause", "unpause", "up":
		for _, a := range rest {
			if strings.HasPrefix(a, "-") {
				continue
			}
			if _, ok := c.Services[a]; !ok {
				t.Errorf("%s: %q: %s has no service %s", s.where, s.text, file, a)
			}
		}
	case "run", "exec":
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			if rest[0] == "-e" || rest[0] == "--env" || rest[0] == "-w" || rest[0] == "--name" {
				rest = rest[1:]
			}
			rest = rest[1:]
		}
		if len(rest) == 0 {
			t.Errorf("%s: %q: no service", s.where, s.text)
			return
		}
		svc, ok := c.Services[rest[0]]
		if !ok {
			t.Errorf("%s: %q: %s has no service %s", s.where, s.text, file, rest[0])
			return
		}
		if rest[0] == "idvctl" {
			cenv := environment(svc.Environment)
			if conf := mountedConfig(file, svc.Volumes); conf != "" {
				cenv["IDVBUS_CONFIG"] = conf
			}
			for k, v := range env {
				cenv[k] = v
			}
			runIdvctl(t, s, rest[1:], cenv)
		}
	case "down", "config", "build", "pull", "images", "top", "events", "port", "version":
	default:
		t.Errorf("%s: %q: %q is no docker-compose command", s.where, s.text, sub)
	}
}
