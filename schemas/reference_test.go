package schemas_test

import (
	"encoding/json"
	"io/fs"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/idvbus/idvbus/internal/refdata"
	"github.com/idvbus/idvbus/schemas"
)

// TestAsyncAPIValidatesAgainstTheOfficialSchema checks schemas/asyncapi.yaml
// against the official AsyncAPI 3.0.0 JSON Schema (reference data; skipped
// without it).
func TestAsyncAPIValidatesAgainstTheOfficialSchema(t *testing.T) {
	s := refdata.Schema(t, "standards/asyncapi/3.0.0.json.gz", "http://asyncapi.com/definitions/3.0.0/asyncapi.json")
	b, err := fs.ReadFile(schemas.FS(), schemas.AsyncAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s does not convert to JSON: %v", schemas.AsyncAPIFile, err)
	}
	if err := refdata.ValidateJSON(s, j); err != nil {
		t.Fatalf("%s does not validate against AsyncAPI 3.0.0: %v", schemas.AsyncAPIFile, err)
	}
	// The check can fail: a document without info is refused.
	var broken map[string]any
	_ = json.Unmarshal(j, &broken)
	delete(broken, "info")
	bj, _ := json.Marshal(broken)
	if refdata.ValidateJSON(s, bj) == nil {
		t.Fatal("the official schema accepted a document without info")
	}
}
