package schemas_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

// pii marks every value the invalid cases inject: no error may repeat it.
const pii = "PII"

var types = []string{string(idv.TypeVerificationUpdated), string(idv.TypeCheckCompleted)}

func validVerification() idv.VerificationUpdated {
	return idv.VerificationUpdated{
		VerificationID: "inq_2Bc9Xw7Yq1ZkD4mN8pR3sT6v",
		Vendor:         "persona",
		Source:         "persona-eu",
		ReferenceID:    "user-4242",
		Status:         idv.StatusNeedsReview,
		PreviousStatus: idv.StatusSubmitted,
		Terminal:       false,
		DecidedBy:      idv.DecidedByVendor,
		Revision:       3,
		VendorEvent:    "inquiry.marked-for-review",
		VendorStatus:   "needs_review",
		OccurredAt:     time.Date(2026, 11, 22, 10, 0, 0, 123_000_000, time.UTC),
		ReceivedAt:     time.Date(2026, 11, 22, 10, 0, 1, 987_654_321, time.UTC),
		Raw:            idv.RawRef{Stream: "IDV_RAW", Seq: 42},
	}
}

func validCheck() idv.CheckCompleted {
	return idv.CheckCompleted{
		VerificationID: "inq_2Bc9Xw7Yq1ZkD4mN8pR3sT6v",
		Vendor:         "persona",
		Source:         "persona-eu",
		ReferenceID:    "user-4242",
		Check:          idv.CheckSelfie,
		Result:         idv.ResultPassed,
		VendorCheck:    "verification/selfie",
		VendorResult:   "passed",
		// A vendor time with an offset: RFC 3339 allows it.
		OccurredAt: time.Date(2026, 11, 22, 11, 58, 0, 0, time.FixedZone("", 2*60*60)),
		ReceivedAt: time.Date(2026, 11, 22, 9, 58, 0, 500_000_000, time.UTC),
		Raw:        idv.RawRef{Stream: "IDV_RAW", Seq: 41},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toMap returns v as generic JSON, for mutating into invalid documents.
func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, v), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readSchema returns an embedded JSON file as generic JSON.
func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(schemas.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// get walks generic JSON/YAML along keys.
func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object", strings.Join(keys[:i], "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v: not a list", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%v: not a string", x)
		}
		out[i] = s
	}
	return out
}

func asStrings[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

func TestValidateAcceptsEventsBuiltFromGoStructs(t *testing.T) {
	minimalV := validVerification()
	minimalV.ReferenceID, minimalV.PreviousStatus, minimalV.VendorStatus = "", "", ""
	minimalV.Status, minimalV.Revision = idv.StatusCreated, 1
	minimalC := validCheck()
	minimalC.ReferenceID, minimalC.VendorResult = "", ""
	terminal := validVerification()
	terminal.Status, terminal.PreviousStatus, terminal.Terminal = idv.StatusApproved, idv.StatusNeedsReview, true
	terminal.DecidedBy, terminal.Revision = idv.DecidedByManualReview, 4
	longID := validVerification()
	longID.VerificationID = strings.Repeat("x", 200)

	for _, tc := range []struct {
		name, typ string
		data      any
	}{
		{"verification full", string(idv.TypeVerificationUpdated), validVerification()},
		{"verification without optional fields", string(idv.TypeVerificationUpdated), minimalV},
		{"verification terminal", string(idv.TypeVerificationUpdated), terminal},
		{"verification id of 200 characters", string(idv.TypeVerificationUpdated), longID},
		{"check full", string(idv.TypeCheckCompleted), validCheck()},
		{"check without optional fields", string(idv.TypeCheckCompleted), minimalC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemas.Validate(tc.typ, mustJSON(t, tc.data)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	type loc struct{ location, keyword string }
	v := func(f func(m map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { m := toMap(t, validVerification()); f(m); return mustJSON(t, m) }
	}
	c := func(f func(m map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { m := toMap(t, validCheck()); f(m); return mustJSON(t, m) }
	}
	raw := func(b string) func(t *testing.T) []byte { return func(*testing.T) []byte { return []byte(b) } }
	rawRef := func(m map[string]any) map[string]any { return m["raw"].(map[string]any) }

	for _, tc := range []struct {
		name string
		typ  string
		data func(t *testing.T) []byte
		want []loc // exactly these violations
	}{
		{"unknown status", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["status"] = pii + "_unknown" }), []loc{{"/status", "enum"}}},
		{"unknown previous_status", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["previous_status"] = "Approved" + pii }), []loc{{"/previous_status", "enum"}}},
		{"unknown decided_by", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["decided_by"] = "robot" + pii }), []loc{{"/decided_by", "enum"}}},
		{"missing status", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { delete(m, "status") }), []loc{{"", "required"}}},
		{"missing raw", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { delete(m, "raw") }), []loc{{"", "required"}}},
		{"missing raw.seq", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { delete(rawRef(m), "seq") }), []loc{{"/raw", "required"}}},
		{"extra field", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["email"] = pii + "@example.com" }), []loc{{"", "additionalProperties"}}},
		{"extra field in raw", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { rawRef(m)["subject"] = pii }), []loc{{"/raw", "additionalProperties"}}},
		{"revision 0", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["revision"] = 0 }), []loc{{"/revision", "minimum"}}},
		{"revision negative", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["revision"] = -7 }), []loc{{"/revision", "minimum"}}},
		{"revision fractional", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["revision"] = 1.5 }), []loc{{"/revision", "type"}}},
		{"revision as string", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["revision"] = "3" }), []loc{{"/revision", "type"}}},
		{"raw.seq 0", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { rawRef(m)["seq"] = 0 }), []loc{{"/raw/seq", "minimum"}}},
		{"raw.stream empty", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { rawRef(m)["stream"] = "" }), []loc{{"/raw/stream", "minLength"}}},
		{"time not RFC 3339", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["occurred_at"] = pii + " yesterday" }), []loc{{"/occurred_at", "format"}}},
		{"time without offset", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["received_at"] = "2026-11-22T10:00:00" }), []loc{{"/received_at", "format"}}},
		{"time with a space", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["received_at"] = "2026-11-22 10:00:00Z" }), []loc{{"/received_at", "format"}}},
		{"time as number", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["received_at"] = 1763805600 }), []loc{{"/received_at", "type"}}},
		{"terminal status with terminal false", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["status"] = "declined" }), []loc{{"/terminal", "const"}}},
		{"non-terminal status with terminal true", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["terminal"] = true }), []loc{{"/terminal", "const"}}},
		{"vendor with capitals", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["vendor"] = pii + "Persona" }), []loc{{"/vendor", "pattern"}}},
		{"vendor empty", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["vendor"] = "" }), []loc{{"/vendor", "pattern"}}},
		{"vendor too long", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["vendor"] = strings.Repeat("a", 65) }), []loc{{"/vendor", "pattern"}}},
		{"source as CloudEvent source", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["source"] = "/sources/" + pii }), []loc{{"/source", "pattern"}}},
		{"verification_id empty", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["verification_id"] = "" }), []loc{{"/verification_id", "minLength"}}},
		{"verification_id too long", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["verification_id"] = strings.Repeat(pii, 67) }), []loc{{"/verification_id", "maxLength"}}},
		{"reference_id present but empty", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["reference_id"] = "" }), []loc{{"/reference_id", "minLength"}}},
		{"vendor_event empty", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["vendor_event"] = "" }), []loc{{"/vendor_event", "minLength"}}},
		{"terminal as string", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["terminal"] = "false" }), []loc{{"/terminal", "const"}, {"/terminal", "type"}}},
		{"several at once", string(idv.TypeVerificationUpdated),
			v(func(m map[string]any) { m["revision"] = 0; delete(m, "vendor_event"); m["vendor"] = pii }),
			[]loc{{"", "required"}, {"/revision", "minimum"}, {"/vendor", "pattern"}}},
		{"not JSON", string(idv.TypeVerificationUpdated), raw(`{"status": "` + pii), []loc{{"", "json"}}},
		{"two JSON values", string(idv.TypeVerificationUpdated), raw(`{} {}`), []loc{{"", "json"}}},
		{"null", string(idv.TypeVerificationUpdated), raw(`null`), []loc{{"", "type"}}},
		{"array", string(idv.TypeCheckCompleted), raw(`[]`), []loc{{"", "type"}}},

		{"unknown check", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { m["check"] = "retina" + pii }), []loc{{"/check", "enum"}}},
		{"unknown result", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { m["result"] = "ok" + pii }), []loc{{"/result", "enum"}}},
		{"status in a check", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { m["status"] = "approved" }), []loc{{"", "additionalProperties"}}},
		{"missing vendor_check", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { delete(m, "vendor_check") }), []loc{{"", "required"}}},
		{"check time not RFC 3339", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { m["occurred_at"] = "22/11/2026 " + pii }), []loc{{"/occurred_at", "format"}}},
		{"check vendor with a dot", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { m["vendor"] = "persona." + pii }), []loc{{"/vendor", "pattern"}}},
		{"check raw.seq 0", string(idv.TypeCheckCompleted),
			c(func(m map[string]any) { rawRef(m)["seq"] = 0 }), []loc{{"/raw/seq", "minimum"}}},
		{"verification data as check", string(idv.TypeCheckCompleted),
			func(t *testing.T) []byte { return mustJSON(t, validVerification()) },
			[]loc{{"", "additionalProperties"}, {"", "required"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := schemas.Validate(tc.typ, tc.data(t))
			var ve *schemas.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if !errors.Is(err, schemas.ErrInvalid) {
				t.Error("error does not wrap ErrInvalid")
			}
			if ve.Type != tc.typ {
				t.Errorf("Type = %q, want %q", ve.Type, tc.typ)
			}
			var got []loc
			for _, v := range ve.Violations {
				got = append(got, loc{v.Location, v.Keyword})
				if v.Message == "" {
					t.Errorf("violation at %q has no message", v.Location)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v\n%v", got, tc.want, err)
			}
			if strings.Contains(err.Error(), pii) {
				t.Errorf("error echoes a data value: %v", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	m := toMap(t, validVerification())
	m["revision"] = 0
	delete(m, "vendor_event")
	err := schemas.Validate(string(idv.TypeVerificationUpdated), mustJSON(t, m))
	want := `schemas: invalid io.idvbus.verification.updated.v1: (root): missing property 'vendor_event'; /revision: minimum: must be >= 1`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestValidateUnknownType(t *testing.T) {
	for _, typ := range []string{"", "io.idvbus.verification.updated.v2", "verification.updated.v1.json", schemas.CloudEventFile} {
		err := schemas.Validate(typ, []byte(`{}`))
		if !errors.Is(err, schemas.ErrUnknownType) {
			t.Errorf("Validate(%q) = %v, want ErrUnknownType", typ, err)
		}
		if f := schemas.File(typ); f != "" {
			t.Errorf("File(%q) = %q, want empty", typ, f)
		}
	}
}

// The Go constants and the schema enums must list the same values: every Go
// value is accepted, and every schema value is a valid Go value.
func TestEnumsMatchGo(t *testing.T) {
	for _, s := range idv.Statuses() {
		d := validVerification()
		d.Status, d.PreviousStatus, d.Terminal = s, s, s.Terminal()
		if err := schemas.Validate(string(idv.TypeVerificationUpdated), mustJSON(t, d)); err != nil {
			t.Errorf("status %s: %v", s, err)
		}
		d.Terminal = !d.Terminal
		if err := schemas.Validate(string(idv.TypeVerificationUpdated), mustJSON(t, d)); err == nil {
			t.Errorf("status %s with terminal %t accepted", s, d.Terminal)
		}
	}
	decidedBy := []idv.DecidedBy{idv.DecidedByVendor, idv.DecidedByManualReview, idv.DecidedByPolicy}
	for _, by := range decidedBy {
		d := validVerification()
		d.DecidedBy = by
		if err := schemas.Validate(string(idv.TypeVerificationUpdated), mustJSON(t, d)); err != nil {
			t.Errorf("decided_by %s: %v", by, err)
		}
	}
	for _, c := range idv.Checks() {
		d := validCheck()
		d.Check = c
		if err := schemas.Validate(string(idv.TypeCheckCompleted), mustJSON(t, d)); err != nil {
			t.Errorf("check %s: %v", c, err)
		}
	}
	for _, r := range idv.Results() {
		d := validCheck()
		d.Result = r
		if err := schemas.Validate(string(idv.TypeCheckCompleted), mustJSON(t, d)); err != nil {
			t.Errorf("result %s: %v", r, err)
		}
	}

	vu := readSchema(t, schemas.File(string(idv.TypeVerificationUpdated)))
	cc := readSchema(t, schemas.File(string(idv.TypeCheckCompleted)))
	for _, tc := range []struct {
		field string
		enum  []string
		valid func(string) bool
		count int
	}{
		{"status", strs(t, get(t, vu, "properties", "status", "enum")), func(s string) bool { return idv.Status(s).Valid() }, len(idv.Statuses())},
		{"previous_status", strs(t, get(t, vu, "properties", "previous_status", "enum")), func(s string) bool { return idv.Status(s).Valid() }, len(idv.Statuses())},
		{"decided_by", strs(t, get(t, vu, "properties", "decided_by", "enum")), func(s string) bool { return idv.DecidedBy(s).Valid() }, len(decidedBy)},
		{"check", strs(t, get(t, cc, "properties", "check", "enum")), func(s string) bool { return idv.Check(s).Valid() }, len(idv.Checks())},
		{"result", strs(t, get(t, cc, "properties", "result", "enum")), func(s string) bool { return idv.Result(s).Valid() }, len(idv.Results())},
	} {
		for _, v := range tc.enum {
			if !tc.valid(v) {
				t.Errorf("%s: schema value %q is not a Go constant", tc.field, v)
			}
		}
		if u := slices.Compact(slices.Sorted(slices.Values(tc.enum))); len(u) != len(tc.enum) || len(u) != tc.count {
			t.Errorf("%s: schema lists %d values (%d distinct), Go %d", tc.field, len(tc.enum), len(u), tc.count)
		}
	}

	// The if/then that ties terminal to status names the terminal statuses.
	var terminal []string
	for _, s := range idv.Statuses() {
		if s.Terminal() {
			terminal = append(terminal, string(s))
		}
	}
	got := strs(t, get(t, vu, "if", "properties", "status", "enum"))
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(terminal))) {
		t.Errorf("terminal statuses in schema %v, Go %v", got, terminal)
	}
}

// Each data schema lists exactly the Go struct's JSON fields as properties and
// requires exactly those without omitempty.
func TestPropertiesMatchGoStructs(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		schema func(map[string]any) any
		goType reflect.Type
	}{
		{string(idv.TypeVerificationUpdated), func(m map[string]any) any { return m }, reflect.TypeFor[idv.VerificationUpdated]()},
		{string(idv.TypeCheckCompleted), func(m map[string]any) any { return m }, reflect.TypeFor[idv.CheckCompleted]()},
		{string(idv.TypeVerificationUpdated), func(m map[string]any) any { return get(t, m, "properties", "raw") }, reflect.TypeFor[idv.RawRef]()},
		{string(idv.TypeCheckCompleted), func(m map[string]any) any { return get(t, m, "properties", "raw") }, reflect.TypeFor[idv.RawRef]()},
	} {
		t.Run(tc.goType.Name(), func(t *testing.T) {
			sch := tc.schema(readSchema(t, schemas.File(tc.typ)))
			var fields, required []string
			for f := range tc.goType.Fields() {
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				fields = append(fields, name)
				if !slices.Contains(strings.Split(opts, ","), "omitempty") {
					required = append(required, name)
				}
			}
			props := get(t, sch, "properties").(map[string]any)
			var names []string
			for name, p := range props {
				names = append(names, name)
				for _, k := range []string{"title", "description"} {
					if s, _ := get(t, p, k).(string); s == "" {
						t.Errorf("property %s has no %s", name, k)
					}
				}
			}
			slices.Sort(fields)
			slices.Sort(names)
			if !slices.Equal(names, fields) {
				t.Errorf("properties %v, Go fields %v", names, fields)
			}
			gotReq := strs(t, get(t, sch, "required"))
			slices.Sort(gotReq)
			slices.Sort(required)
			if !slices.Equal(gotReq, required) {
				t.Errorf("required %v, Go fields without omitempty %v", gotReq, required)
			}
			if get(t, sch, "additionalProperties") != false {
				t.Error("additionalProperties is not false")
			}
		})
	}
}

func TestSchemaIDsAndFiles(t *testing.T) {
	if schemas.BaseURL != idv.SchemaBaseURL {
		t.Errorf("BaseURL %q, idv.SchemaBaseURL %q", schemas.BaseURL, idv.SchemaBaseURL)
	}
	for _, typ := range types {
		f := schemas.File(typ)
		if f == "" || f != path.Base(schemaURL(typ)) {
			t.Errorf("File(%s) = %q, want the base of %s", typ, f, schemaURL(typ))
			continue
		}
		m := readSchema(t, f)
		if id := get(t, m, "$id"); id != schemaURL(typ) {
			t.Errorf("%s: $id %v, want %s", f, id, schemaURL(typ))
		}
		if s := get(t, m, "$schema"); s != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema %v", f, s)
		}
	}
	m := readSchema(t, schemas.CloudEventFile)
	if id := get(t, m, "$id"); id != idv.SchemaBaseURL+schemas.CloudEventFile {
		t.Errorf("%s: $id %v", schemas.CloudEventFile, id)
	}
	var urls []string
	for _, typ := range types {
		urls = append(urls, schemaURL(typ))
	}
	if got := strs(t, get(t, m, "properties", "dataschema", "enum")); !slices.Equal(got, urls) {
		t.Errorf("cloudevent dataschema enum %v, want %v", got, urls)
	}
	if got := strs(t, get(t, m, "properties", "type", "enum")); !slices.Equal(got, types) {
		t.Errorf("cloudevent type enum %v, want %v", got, types)
	}

	names, err := fs.Glob(schemas.FS(), "*")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{schemas.AsyncAPIFile, "check.completed.v1.json", schemas.CloudEventFile, "verification.updated.v1.json"}
	if !slices.Equal(names, want) {
		t.Errorf("FS holds %v, want %v", names, want)
	}
}

func meta(typ string) events.Meta {
	return events.Meta{
		ID:      "persona:evt_8f2Kq:" + typ,
		Source:  "persona-eu",
		Vendor:  "persona",
		Subject: "inq_2Bc9Xw7Yq1ZkD4mN8pR3sT6v",
		Time:    time.Date(2026, 11, 22, 10, 0, 0, 123_000_000, time.UTC),
	}
}

func TestValidateEvent(t *testing.T) {
	ve, err := events.NewVerificationUpdated(meta(string(idv.TypeVerificationUpdated)), validVerification())
	if err != nil {
		t.Fatal(err)
	}
	ce, err := events.NewCheckCompleted(meta(string(idv.TypeCheckCompleted)), validCheck())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []any{ve, ce} {
		if err := schemas.ValidateEvent(mustJSON(t, e)); err != nil {
			t.Errorf("structured event: %v", err)
		}
	}

	// Binary mode carries the same attributes as ce-* headers.
	msg, err := events.ToNATS(ve)
	if err != nil {
		t.Fatal(err)
	}
	structured := map[string]any{}
	for k, v := range msg.Header {
		if name, ok := strings.CutPrefix(k, "ce-"); ok {
			structured[name] = v[0]
		}
	}
	structured["data"] = json.RawMessage(msg.Data)
	if err := schemas.ValidateEvent(mustJSON(t, structured)); err != nil {
		t.Errorf("binary-mode headers as an event: %v", err)
	}

	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		loc    string
	}{
		{"unknown type", func(m map[string]any) { m["type"] = "io.idvbus.other.v1" }, "/type"},
		{"dataschema of the other type", func(m map[string]any) { m["dataschema"] = schemaURL(string(idv.TypeCheckCompleted)) }, "/dataschema"},
		{"source without /sources/", func(m map[string]any) { m["source"] = "persona-eu" }, "/source"},
		{"missing vendor", func(m map[string]any) { delete(m, "vendor") }, ""},
		{"data invalid", func(m map[string]any) { m["data"].(map[string]any)["revision"] = 0 }, "/data/revision"},
		{"data of the other type", func(m map[string]any) { m["data"] = toMap(t, validCheck()) }, "/data"},
		{"attribute that is no CloudEvents name", func(m map[string]any) { m["Vendor_Name"] = pii }, ""},
		{"specversion 0.3", func(m map[string]any) { m["specversion"] = "0.3" }, "/specversion"},
		{"time not RFC 3339", func(m map[string]any) { m["time"] = pii }, "/time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := toMap(t, ve)
			tc.mutate(m)
			err := schemas.ValidateEvent(mustJSON(t, m))
			var verr *schemas.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if !slices.ContainsFunc(verr.Violations, func(v schemas.Violation) bool { return v.Location == tc.loc }) {
				t.Errorf("no violation at %q: %v", tc.loc, err)
			}
			if strings.Contains(err.Error(), pii) {
				t.Errorf("error echoes a data value: %v", err)
			}
		})
	}

	t.Run("unknown extension allowed", func(t *testing.T) {
		m := toMap(t, ve)
		m["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		if err := schemas.ValidateEvent(mustJSON(t, m)); err != nil {
			t.Error(err)
		}
	})
}

func TestValidateConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			typ := types[i%2]
			var d any = validVerification()
			if typ == string(idv.TypeCheckCompleted) {
				d = validCheck()
			}
			b, _ := json.Marshal(d)
			errs <- schemas.Validate(typ, b)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// schemaURL is idv.SchemaURL of a type given as a string.
func schemaURL(typ string) string { return idv.SchemaURL(idv.EventType(typ)) }
