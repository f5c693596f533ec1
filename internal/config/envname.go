package config

import "strings"

// EnvName is the IDVBUS_ variable that overrides the setting at path, a YAML
// path of plain keys such as "ingest.listen" or "nats.embedded.store_dir"
// (IDVBUS_INGEST_LISTEN, IDVBUS_NATS_EMBEDDED_STORE_DIR): the name
// [ApplyEnv] reads. Error messages use it to say how to move a setting.
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}
