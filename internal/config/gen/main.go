// Command gen writes the reference of every config key, docs/config.md, and
// the JSON Schema of the config file, schemas/config.schema.json, from the
// loader's own list of keys ([config.Keys]) and the doc comments of the
// Config struct's fields. Run it after adding or changing a key:
//
//	go generate ./internal/config    (or: make config-docs)
//
// The package's tests fail when the checked-in files differ from what it
// writes, and validate the shipped example configs against the schema.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root, err := repoRoot()
	if err == nil {
		err = write(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "config gen:", err)
		os.Exit(1)
	}
}

// write regenerates both files under the repository root.
func write(root string) error {
	ref, err := build()
	if err != nil {
		return err
	}
	md, err := ref.markdown()
	if err != nil {
		return err
	}
	schema, err := ref.schema()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, DocFile), md, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, SchemaFile), schema, 0o644)
}
