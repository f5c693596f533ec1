package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// This is the CI check (make test): the checked-in reference and schema are
// what the generator writes from the loader's keys today.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := build()
	if err != nil {
		t.Fatal(err)
	}
	md, err := ref.markdown()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := ref.schema()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]byte{DocFile: md, SchemaFile: schema} {
		got, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatalf("%v (run go generate ./internal/config)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes for the loader's keys: run go generate ./internal/config (make config-docs) and commit it", file)
		}
	}
	if !bytes.Contains(md, []byte("go generate ./internal/config")) {
		t.Error("docs/config.md does not say how to regenerate it")
	}
}

// exampleConfigs are the config files the repository ships (paths from the
// root); the Kubernetes one is inside a ConfigMap.
var exampleConfigs = []string{
	"deploy/idvbus.example.yaml",
	"deploy/compose/idvbus.yaml",
	"deploy/cluster/idvbus.yaml",
	"examples/receive-webhooks/idvbus.yaml",
	"deploy/kubernetes/idvbus-config.yaml",
}

func compileSchema(t *testing.T, root string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join(root, SchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// yamlToJSON turns a YAML document into the JSON value an editor's schema
// validator sees: mapping keys become strings (`"4": failed` and `4: failed`
// alike).
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(stringKeys(v))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringKeys(e)
		}
		return x
	case map[any]any:
		m := map[string]any{}
		for k, e := range x {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}

func TestExampleConfigsMatchTheSchema(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sch := compileSchema(t, root)
	for _, file := range exampleConfigs {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(file, "kubernetes") {
			var cm struct {
				Data map[string]string `yaml:"data"`
			}
			if err := yaml.Unmarshal(data, &cm); err != nil {
				t.Fatal(err)
			}
			if cm.Data["idvbus.yaml"] == "" {
				t.Fatalf("%s has no data idvbus.yaml", file)
			}
			data = []byte(cm.Data["idvbus.yaml"])
		}
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s does not match %s:\n%v", file, SchemaFile, err)
		}
	}
}

// The schema catches what the loader refuses for its shape: an unknown
// (misspelt) key, a value of the wrong type, a duration Go cannot parse. A
// ${VAR} is accepted anywhere, as the loader expands it before decoding.
func TestTheSchemaRejectsWhatTheLoaderRejects(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sch := compileSchema(t, root)
	for _, tc := range []struct {
		yaml  string
		valid bool
	}{
		{"jetstream: {replicas: 3, raw_max_age: 168h, dlq_max_age: 0s}\n", true},
		{"ingest: {max_body_bytes: '${MAX_BODY}', read_timeout: '${READ_TIMEOUT:-30s}'}\n", true},
		{"sources: [{name: credas, vendor: credas, auth: {type: header, header: webhookAuth, secrets: [x]}, results: {right_to_work: {4: failed}}}]\n", true},
		{"subscribers: [{name: a, url: 'http://x', secrets: [s], retry: {schedule: [1s, 1m30s], jitter: 0.1}}]\n", true},
		{"jetstream: {replicas: three}\n", false},
		{"jetstream: {replica: 3}\n", false},
		{"jetstream: {raw_max_age: 30 days}\n", false},
		{"jetstream: {dlq_max_age: 0}\n", false}, // yaml.v3 reads no bare integer as a duration
		{"sources: [{name: p, vendor: persona, auth: {type: persona, secret: [x]}}]\n", false},
		{"nats: {embedded: {sync_always: yes please}}\n", false},
	} {
		err := sch.Validate(yamlToJSON(t, []byte(tc.yaml)))
		if (err == nil) != tc.valid {
			t.Errorf("%s: valid %v, want %v (%v)", strings.TrimSpace(tc.yaml), err == nil, tc.valid, err)
		}
	}
}
