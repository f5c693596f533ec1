package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// connectionSections are the parts of the config a client of the bus needs
// to reach it: where NATS is and how the topology is named and sized.
var connectionSections = []string{"nats", "jetstream"}

// LoadConnection reads only the nats and jetstream sections of the config at
// path, with their `${VAR}`s and their IDVBUS_NATS_* and IDVBUS_JETSTREAM_*
// overrides, and validates them. It is for tools that talk to the bus without
// running a service (idvctl): the vendors' and subscribers' secrets, and the
// variables they are read from, need not be there. The other sections keep
// their defaults and there are no sources or subscribers.
func LoadConnection(path string, env Env) (Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, nil, fmt.Errorf("config %s: %w", path, err)
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		kept := m.Content[:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			for _, s := range connectionSections {
				if m.Content[i].Value == s {
					kept = append(kept, m.Content[i], m.Content[i+1])
				}
			}
		}
		m.Content = kept
	}
	if root.Kind != 0 {
		if data, err = yaml.Marshal(&root); err != nil {
			return Config{}, nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	cfg, err := Parse(data, env)
	if err != nil {
		return Config{}, nil, fmt.Errorf("config %s: %w", path, err)
	}
	connEnv := Env{}
	for k, v := range env {
		for _, s := range connectionSections {
			if strings.HasPrefix(k, EnvPrefix+strings.ToUpper(s)+"_") {
				connEnv[k] = v
			}
		}
	}
	return Finish(cfg, connEnv)
}
