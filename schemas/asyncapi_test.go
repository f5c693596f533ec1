package schemas_test

import (
	"encoding/json"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

func readAsyncAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(schemas.FS(), schemas.AsyncAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", schemas.AsyncAPIFile, err)
	}
	return doc
}

func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v: not an object", v)
	}
	return slices.Sorted(maps.Keys(m))
}

func TestAsyncAPIShape(t *testing.T) {
	doc := readAsyncAPI(t)
	if v := get(t, doc, "asyncapi"); v != "3.0.0" {
		t.Errorf("asyncapi: %v", v)
	}
	if v := get(t, doc, "servers", "nats", "protocol"); v != "nats" {
		t.Errorf("servers.nats.protocol: %v", v)
	}
	want := []string{"checkCompleted", "deadLetter", "rawWebhook", "verificationUpdated"}
	if got := keys(t, get(t, doc, "channels")); !slices.Equal(got, want) {
		t.Errorf("channels %v, want %v", got, want)
	}
	// Every channel has a receive operation.
	var received []string
	for name, op := range get(t, doc, "operations").(map[string]any) {
		if a := get(t, op, "action"); a != "receive" {
			t.Errorf("operation %s: action %v", name, a)
		}
		ref, _ := get(t, op, "channel", "$ref").(string)
		received = append(received, strings.TrimPrefix(ref, "#/channels/"))
	}
	if slices.Sort(received); !slices.Equal(received, want) {
		t.Errorf("operations receive on %v, want %v", received, want)
	}
}

// Every local $ref points at something, and every file $ref at an embedded file.
func TestAsyncAPIRefsResolve(t *testing.T) {
	doc := readAsyncAPI(t)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if p, ok := strings.CutPrefix(ref, "#/"); ok {
					get(t, doc, strings.Split(p, "/")...)
				} else if _, err := fs.Stat(schemas.FS(), strings.TrimPrefix(ref, "./")); err != nil {
					t.Errorf("%s: $ref %s: %v", at, ref, err)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "")
}

// The subject parameters list exactly the Go statuses and checks, and the
// addresses expand to the subjects idv builds.
func TestAsyncAPISubjectsMatchGo(t *testing.T) {
	doc := readAsyncAPI(t)
	ch := func(name string) map[string]any { return get(t, doc, "channels", name).(map[string]any) }

	vu := ch("verificationUpdated")
	if got := strs(t, get(t, vu, "parameters", "status", "enum")); !slices.Equal(got, asStrings(idv.Statuses())) {
		t.Errorf("status enum %v, want %v", got, idv.Statuses())
	}
	for _, s := range idv.Statuses() {
		addr := strings.NewReplacer("{vendor}", "persona", "{status}", string(s)).Replace(get(t, vu, "address").(string))
		if want := idv.VerificationSubject("persona", s); addr != want {
			t.Errorf("address expands to %s, idv says %s", addr, want)
		}
	}

	cc := ch("checkCompleted")
	if got := strs(t, get(t, cc, "parameters", "check", "enum")); !slices.Equal(got, asStrings(idv.Checks())) {
		t.Errorf("check enum %v, want %v", got, idv.Checks())
	}
	for _, c := range idv.Checks() {
		addr := strings.NewReplacer("{vendor}", "persona", "{check}", string(c)).Replace(get(t, cc, "address").(string))
		if want := idv.CheckSubject("persona", c); addr != want {
			t.Errorf("address expands to %s, idv says %s", addr, want)
		}
	}

	if got := strs(t, get(t, ch("deadLetter"), "parameters", "stage", "enum")); !slices.Equal(got, []string{"normalize", "notify"}) {
		t.Errorf("dead-letter stages %v", got)
	}
	if a := get(t, ch("rawWebhook"), "address"); a != "idv.raw.{vendor}.{source}" {
		t.Errorf("raw address %v", a)
	}
	if a := get(t, ch("deadLetter"), "address"); a != "idv.dlq.{stage}.{name}" {
		t.Errorf("dead-letter address %v", a)
	}
}

// The documented headers are exactly what events.ToNATS writes, and the event
// messages name their type, content type and schema file.
func TestAsyncAPIEventMessagesMatchGo(t *testing.T) {
	doc := readAsyncAPI(t)
	hdr := get(t, doc, "components", "schemas", "cloudEventHeaders")

	e, err := events.NewVerificationUpdated(meta(string(idv.TypeVerificationUpdated)), validVerification())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	written := slices.Sorted(maps.Keys(msg.Header))
	if got := keys(t, get(t, hdr, "properties")); !slices.Equal(got, written) {
		t.Errorf("documented headers %v, events.ToNATS writes %v", got, written)
	}
	req := strs(t, get(t, hdr, "required"))
	if slices.Sort(req); !slices.Equal(req, written) {
		t.Errorf("required headers %v, events.ToNATS writes %v", req, written)
	}

	for _, tc := range []struct{ message, typ string }{
		{"verificationUpdated", string(idv.TypeVerificationUpdated)},
		{"checkCompleted", string(idv.TypeCheckCompleted)},
	} {
		t.Run(tc.message, func(t *testing.T) {
			m := get(t, doc, "components", "messages", tc.message)
			if n := get(t, m, "name"); n != tc.typ {
				t.Errorf("name %v, want %s", n, tc.typ)
			}
			if ct := get(t, m, "contentType"); ct != "application/json" {
				t.Errorf("contentType %v", ct)
			}
			if ref := get(t, m, "payload", "$ref"); ref != "./"+schemas.File(tc.typ) {
				t.Errorf("payload $ref %v, want ./%s", ref, schemas.File(tc.typ))
			}
			consts := get(t, m, "headers", "allOf").([]any)[1]
			if v := get(t, consts, "properties", "ce-type", "const"); v != tc.typ {
				t.Errorf("ce-type const %v", v)
			}
			if v := get(t, consts, "properties", "ce-dataschema", "const"); v != schemaURL(tc.typ) {
				t.Errorf("ce-dataschema const %v", v)
			}
			// The examples are valid events of the type.
			examples := get(t, m, "examples").([]any)
			if len(examples) == 0 {
				t.Fatal("no examples")
			}
			for _, ex := range examples {
				h := get(t, ex, "headers").(map[string]any)
				if got := slices.Sorted(maps.Keys(h)); !slices.Equal(got, written) {
					t.Errorf("example headers %v, want %v", got, written)
				}
				if h["ce-type"] != tc.typ || h["ce-dataschema"] != schemaURL(tc.typ) || h["ce-id"] != h["Nats-Msg-Id"] {
					t.Errorf("example headers inconsistent: %v", h)
				}
				body, err := json.Marshal(get(t, ex, "payload"))
				if err != nil {
					t.Fatal(err)
				}
				if err := schemas.Validate(tc.typ, body); err != nil {
					t.Errorf("example %v: %v", get(t, ex, "name"), err)
				}
				structured := map[string]any{"data": json.RawMessage(body)}
				for k, v := range h {
					if name, ok := strings.CutPrefix(k, "ce-"); ok {
						structured[name] = v
					}
				}
				b, _ := json.Marshal(structured)
				if err := schemas.ValidateEvent(b); err != nil {
					t.Errorf("example %v as an event: %v", get(t, ex, "name"), err)
				}
			}
		})
	}
}

func TestAsyncAPIRawAndDeadLetterHeaders(t *testing.T) {
	doc := readAsyncAPI(t)
	for _, tc := range []struct {
		message  string
		headers  []string
		required []string
	}{
		{"rawWebhook",
			[]string{"Idv-Content-Type", "Idv-Raw-Key", "Idv-Received-At", "Idv-Replay-Of", "Idv-Request-Id", "Idv-Source", "Idv-Vendor", "Nats-Msg-Id"},
			[]string{"Idv-Received-At", "Idv-Request-Id", "Idv-Source", "Idv-Vendor", "Nats-Msg-Id"}},
		{"deadLetter",
			[]string{"Idv-Attempts", "Idv-Error", "Idv-Last-Status", "Idv-Original-Seq", "Idv-Original-Subject", "Idv-Raw-Key", "Idv-Stage", "Nats-Msg-Id"},
			[]string{"Idv-Attempts", "Idv-Error", "Idv-Original-Seq", "Idv-Original-Subject", "Idv-Stage"}},
	} {
		m := get(t, doc, "components", "messages", tc.message)
		if got := keys(t, get(t, m, "headers", "properties")); !slices.Equal(got, tc.headers) {
			t.Errorf("%s headers %v, want %v", tc.message, got, tc.headers)
		}
		req := strs(t, get(t, m, "headers", "required"))
		if slices.Sort(req); !slices.Equal(req, tc.required) {
			t.Errorf("%s required headers %v, want %v", tc.message, req, tc.required)
		}
		if ref := get(t, m, "payload", "$ref"); ref != "#/components/schemas/opaqueBody" {
			t.Errorf("%s payload %v", tc.message, ref)
		}
	}
}
