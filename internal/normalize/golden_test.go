package normalize

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// lifecycles lists, per vendor, fixture files of internal/vendors/<vendor>/testdata
// in the order they are applied to one verification. Every supported event
// of each vendor appears in one of them.
var lifecycles = map[string][]string{
	"persona": {
		"inquiry.created", "inquiry-session.started", "inquiry.started", "verification.passed",
		"verification.requires-retry", "verification.failed", "inquiry.transitioned", "inquiry.completed",
		"report-watchlist.ready", "report-watchlist.matched", "inquiry.marked-for-review",
		"inquiry.approved", "inquiry.declined", "inquiry.failed", "inquiry.expired", "unknown",
	},
	"incode": {
		"UNKNOWN", "ID_VALIDATION_FINISHED", "ID_VALIDATION_FINISHED_SECOND_ID", "GOVERNMENT_VALIDATION_FINISHED",
		"FACE_VALIDATION_FINISHED", "POST_PROCESSING_FINISHED", "ONBOARDING_FINISHED",
		"MANUAL_REVIEW_APPROVED", "MANUAL_REVIEW_REJECTED", "unrecognized",
	},
	"credas": {
		"01_name_check", "02_share_code", "03_liveness", "04_id_document", "05_supporting_document",
		"06_datacheck", "07_right_to_rent", "08_right_to_work", "09_safe_harbour",
		"liveness_lowercase_object", "name_check_unknown_value", "unknown_update_type",
	},
	"idwise": {
		"finished_user_steps", "finished_step", "finished_journey_refer", "manually_reviewed_approved",
		"updated_journey", "aml_monitor_update", "finished_ongoing_check", "finished_spot_check", "unknown_event",
	},
}

// goldenReceived is the received time of every golden webhook: after every
// fixture's vendor time, so vendor times and received times are told apart.
var goldenReceived = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// TestGolden applies each vendor's fixtures in lifecycle order and compares
// the CloudEvents they produce, encoded to NATS and read back as a
// subscriber would, with testdata/golden/<vendor>/<fixture>.json. Every
// event must validate against its JSON Schema. Run with -update to rewrite
// the golden files after an intended change, then review the diff.
func TestGolden(t *testing.T) {
	for vendor, files := range lifecycles {
		t.Run(vendor, func(t *testing.T) {
			p, err := vendors.NewParser(vendor, report.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var st State
			for i, name := range files {
				body, err := os.ReadFile(filepath.Join("..", "vendors", vendor, "testdata", name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				r, err := p.Parse(body)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				events := []json.RawMessage{}
				if r.Ignored == "" && r.VerificationID != "" {
					in := Input{
						Source: vendor, Vendor: vendor, Policy: PolicyVendor,
						RawKey: vendor + ":" + name, RawStream: "IDV_RAW", RawSeq: uint64(i + 1),
						ReceivedAt: goldenReceived, Report: r, Now: goldenReceived.Add(time.Second),
					}
					var outs []Output
					st, outs, _, err = Apply(st, in)
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range outs {
						events = append(events, roundTrip(t, st, o))
					}
				}
				compareGolden(t, filepath.Join("testdata", "golden", vendor, name+".json"), events)
			}
		})
	}
}

// roundTrip encodes an output as the normalizer publishes it, decodes it as a
// subscriber would, validates it and returns it in structured JSON.
func roundTrip(t *testing.T, st State, o Output) json.RawMessage {
	t.Helper()
	m, err := EncodeOutput(st.Source, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Nats-Msg-Id") != o.ID || m.Subject != o.Subject {
		t.Fatalf("message %s: Nats-Msg-Id %q subject %q", o.ID, m.Header.Get("Nats-Msg-Id"), m.Subject)
	}
	for _, h := range []string{"ce-id", "ce-source", "ce-type", "ce-subject", "ce-time", "ce-specversion", "ce-datacontenttype", "ce-dataschema", "ce-vendor"} {
		if m.Header.Get(h) == "" {
			t.Fatalf("event %s lacks header %s: %v", o.ID, h, m.Header)
		}
	}
	e, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(e.Type, e.Data); err != nil {
		t.Fatalf("event %s does not match its schema: %v", e.ID, err)
	}
	b, err := json.MarshalIndent(struct {
		NATSSubject string          `json:"nats_subject"`
		Event       json.RawMessage `json:"event"`
	}{m.Subject, mustJSON(t, e)}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compareGolden(t *testing.T, path string, events []json.RawMessage) {
	t.Helper()
	got, err := json.MarshalIndent(events, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from what the normalizer emits now:\n--- want\n%s\n--- got\n%s", path, want, strings.TrimSpace(buf.String()))
	}
}

// TestGoldenCoversEveryFixture: a fixture added to a vendor's testdata gets
// golden coverage, or this fails.
func TestGoldenCoversEveryFixture(t *testing.T) {
	for vendor, files := range lifecycles {
		listed := map[string]bool{}
		for _, f := range files {
			listed[f+".json"] = true
		}
		all, err := filepath.Glob(filepath.Join("..", "vendors", vendor, "testdata", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range all {
			if !listed[filepath.Base(f)] {
				t.Errorf("%s: fixture %s is in no lifecycle of golden_test.go", vendor, filepath.Base(f))
			}
		}
	}
}
