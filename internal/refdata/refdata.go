// Package refdata gives tests the shared reference data: official standard
// schemas and test vectors, and real vendor webhook bodies, kept next to the
// repository in ../shared/reference-data and never copied into it. Tests
// that use it skip when it is absent.
package refdata

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir returns the reference-data directory, ../shared/reference-data
// relative to the repository root, or skips t when it does not exist.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/idvbus/idvbus\n")) {
			ref := filepath.Join(d, "..", "shared", "reference-data")
			if fi, err := os.Stat(ref); err != nil || !fi.IsDir() {
				t.Skipf("no reference data at %s", ref)
			}
			return ref
		}
		if filepath.Dir(d) == d {
			t.Skip("repository root not found: no reference data")
		}
	}
}

// Read returns the file at rel (slash-separated) under [Dir], decompressed
// when it ends in .gz.
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// Schema compiles the official JSON Schema at rel under [Dir] (registered
// under url, its $id, so its own references resolve without the network).
func Schema(t testing.TB, rel, url string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Read(t, rel)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", rel, err)
	}
	return s
}

// CloudEvents compiles the official CloudEvents 1.0 JSON Schema
// (standards/cloudevents/cloudevents.json).
func CloudEvents(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return Schema(t, "standards/cloudevents/cloudevents.json", "https://cloudevents.io/schemas/cloudevents.json")
}

// ValidateJSON checks the JSON document b against s.
func ValidateJSON(s *jsonschema.Schema, b []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// VendorBodies returns the real webhook bodies of vendor
// (vendor-payloads/<vendor>/*.json), by file name, in name order.
func VendorBodies(t testing.TB, vendor string) (names []string, bodies [][]byte) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t), "vendor-payloads", vendor, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		bodies = append(bodies, b)
	}
	return names, bodies
}
