package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/refdata"
	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

// carried is the verification status each real body carries, by vendor and
// file, read from the vendors' docs (docs/vendors.md): "" for a body that
// carries none (a check-only, untracked, unknown or placeholder-decision
// webhook). The normalizer may emit less (a status older than one already
// applied changes nothing) but never another status.
var carried = map[string]map[string]idv.Status{
	"persona": {
		"account_created.json":                             "",
		"allowlist_inquiry_approved_no_relationships.json": idv.StatusApproved, // no created-at
		"event_filter_inquiry_completed.json":              idv.StatusPassed,   // no created-at
		"event_object_inquiry_expired.json":                idv.StatusExpired,
		"inquiry_approved.json":                            idv.StatusApproved,
		"inquiry_completed.json":                           idv.StatusPassed,
		"inquiry_created.json":                             idv.StatusCreated,
		"inquiry_declined.json":                            idv.StatusDeclined,
		"inquiry_expired.json":                             idv.StatusExpired,
		"inquiry_failed.json":                              idv.StatusFailed,
		"inquiry_marked_for_review.json":                   idv.StatusNeedsReview,
		"overview_inquiry_approved.json":                   idv.StatusApproved,
		"signals_inquiry_approved.json":                    idv.StatusApproved,
	},
	"incode": {
		"onboarding_finished_sample.json":                   idv.StatusSubmitted,
		"salesforce_doc_eventtype_onboarding_finished.json": idv.StatusSubmitted, // eventType, not onboardingStatus
		"salesforce_test_session_succeeded.json":            idv.StatusApproved,  // session webhook
	},
	"idwise": {
		"finished_journey_doc_template.json":       "", // <SYSTEM_DECISION> placeholder
		"finished_user_steps_doc_template.json":    idv.StatusSubmitted,
		"manually_reviewed_doc_template.json":      "",
		"populist_finished_journey_complete.json":  idv.StatusApproved, // finalDecision Complete; no eventId
		"step_webhook_template.json":               "",                 // **EVENT_NAME** placeholder
		"updated_journey_doc_template.json":        "",
		"webhook_specifications_doc_template.json": "",
	},
	"credas": {
		"dezrez_process_webhook_sample.json": "", // process webhook
		"name_check_result_3.json":           "", // a check result
		"process_actor_delivered.json":       "", // invite delivery
	},
}

// TestRealVendorBodiesThroughAllInOne sends every real webhook body in the
// reference data (vendors idvbus normalizes, and Sumsub, which it only
// stores) through the all-in-one, signed as each source's auth says, and
// checks: every body is answered 200 and stored (a byte-identical body
// once); none of a normalized vendor is dead-lettered; every event emitted
// validates against the official CloudEvents schema and the contract's
// schemas, carries only documented headers, and reports only the status its
// body carries (none for a body that carries none).
func TestRealVendorBodiesThroughAllInOne(t *testing.T) {
	ceSchema := refdata.CloudEvents(t)
	cfg := devConfig(t, t.TempDir())
	cfg.NATS.Embedded.Listen = freeAddr(t)
	cfg.Sources = append(cfg.Sources, config.Source{Name: "sumsub", Vendor: "sumsub", Auth: webhookauth.Config{
		Type: webhookauth.TypeHMAC, Header: "X-Payload-Digest", Algorithm: "sha256", Encoding: "hex", Secrets: []string{"sumsub-test-secret"}}})
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))

	type sent struct {
		vendor, file string
		body         []byte
		answer       string
	}
	var all []sent
	for _, vendor := range []string{"persona", "incode", "idwise", "credas", "sumsub"} {
		files, bodies := refdata.VendorBodies(t, vendor)
		if vendor != "sumsub" && len(files) != len(carried[vendor]) {
			t.Errorf("%s: %d bodies in the reference data, %d expected", vendor, len(files), len(carried[vendor]))
		}
		for i, f := range files {
			if _, ok := carried[vendor][f]; !ok && vendor != "sumsub" {
				t.Errorf("%s/%s: no expectation", vendor, f)
			}
			code, answer := postAnswer(t, base, sourceNamed(t, cfg, vendor), bodies[i])
			if code != http.StatusOK {
				t.Errorf("%s/%s: HTTP %d", vendor, f, code)
			}
			all = append(all, sent{vendor, f, bodies[i], answer})
		}
	}

	nc, err := nats.Connect("nats://" + cfg.NATS.Embedded.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	natstest.Eventually(t, 60*time.Second, "the normalizer has taken every webhook", func() bool {
		c, err := js.Consumer(ctx, bus.StreamRaw, "normalizer")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= uint64(len(all))-1
	})

	url := "nats://" + cfg.NATS.Embedded.Listen
	raw := natstest.ReadStream(t, url, bus.StreamRaw)
	fileOf := map[uint64]sent{}
	stored := map[string]int{}
	for _, m := range raw {
		for k := range m.Header {
			if !documentedRaw(k) {
				t.Errorf("IDV_RAW seq %d carries undocumented header %s", m.Sequence, k)
			}
		}
		for _, s := range all {
			if bytes.Equal(s.body, m.Data) && m.Header.Get(bus.HeaderSource) == s.vendor {
				fileOf[m.Sequence] = s
				stored[s.vendor]++
				break
			}
		}
	}
	distinct := map[string]map[string]bool{}
	for _, s := range all {
		if distinct[s.vendor] == nil {
			distinct[s.vendor] = map[string]bool{}
		}
		distinct[s.vendor][string(s.body)] = true
	}
	for v, bodies := range distinct {
		if stored[v] != len(bodies) {
			t.Errorf("%s: %d distinct bodies sent, %d stored", v, len(bodies), stored[v])
		}
	}

	deadReasons := map[string][]string{}
	for _, m := range natstest.ReadStream(t, url, bus.StreamDLQ) {
		src := strings.TrimPrefix(m.Subject, "idv.dlq.normalize.")
		deadReasons[src] = append(deadReasons[src], m.Header.Get(bus.HeaderError))
		if src != "sumsub" {
			t.Errorf("%s: dead-lettered: %s", src, m.Header.Get(bus.HeaderError))
		}
	}

	emitted := map[string]map[string][]idv.Status{} // vendor → file → statuses
	events := map[string]int{}
	for _, m := range natstest.ReadStream(t, url, bus.StreamEvents) {
		for k := range m.Header {
			if !strings.HasPrefix(k, "ce-") && k != bus.HeaderMsgID && k != "traceparent" && k != "tracestate" {
				t.Errorf("IDV_EVENTS seq %d carries undocumented header %s", m.Sequence, k)
			}
		}
		e, err := idv.FromNATS(m.Header, m.Data)
		if err != nil {
			t.Fatalf("IDV_EVENTS seq %d: %v", m.Sequence, err)
		}
		structured, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := refdata.ValidateJSON(ceSchema, structured); err != nil {
			t.Errorf("event %s does not validate against the official CloudEvents schema: %v", e.ID, err)
		}
		if err := schemas.ValidateEvent(structured); err != nil {
			t.Errorf("event %s does not validate against schemas/: %v", e.ID, err)
		}
		var d struct {
			Status    idv.Status    `json:"status"`
			DecidedBy idv.DecidedBy `json:"decided_by"`
			Raw       idv.RawRef    `json:"raw"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		s, ok := fileOf[d.Raw.Seq]
		if !ok {
			t.Errorf("event %s names raw seq %d, which holds no body sent", e.ID, d.Raw.Seq)
			continue
		}
		events[s.vendor]++
		if e.Type != string(idv.TypeVerificationUpdated) || d.DecidedBy == idv.DecidedByPolicy {
			continue
		}
		if emitted[s.vendor] == nil {
			emitted[s.vendor] = map[string][]idv.Status{}
		}
		emitted[s.vendor][s.file] = append(emitted[s.vendor][s.file], d.Status)
	}
	for vendor, files := range carried {
		for f, want := range files {
			for _, got := range emitted[vendor][f] {
				if got != want {
					t.Errorf("%s/%s: emitted status %q; the body carries %q", vendor, f, got, want)
				}
			}
		}
	}
	// The report the issue asks for: per vendor, what became of the bodies.
	vendorsSeen := make([]string, 0, len(distinct))
	for v := range distinct {
		vendorsSeen = append(vendorsSeen, v)
	}
	sort.Strings(vendorsSeen)
	for _, v := range vendorsSeen {
		n, answers := 0, map[string]int{}
		for _, s := range all {
			if s.vendor == v {
				n++
				answers[s.answer]++
			}
		}
		withStatus := 0
		for _, st := range emitted[v] {
			if len(st) > 0 {
				withStatus++
			}
		}
		t.Logf("%s: sent %d (%v), stored %d, events %d (bodies with a status event %d), dead-lettered %d %v",
			v, n, answers, stored[v], events[v], withStatus, len(deadReasons[v]), uniq(deadReasons[v]))
	}
	if len(deadReasons["sumsub"]) != stored["sumsub"] {
		t.Errorf("sumsub: %d stored, %d dead-lettered (no normalizer yet)", stored["sumsub"], len(deadReasons["sumsub"]))
	}
}

func documentedRaw(k string) bool {
	switch k {
	case bus.HeaderMsgID, bus.HeaderSource, bus.HeaderVendor, bus.HeaderReceivedAt, bus.HeaderRequestID, bus.HeaderContentType,
		"traceparent", "tracestate":
		return true
	}
	return false
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// postAnswer sends body to src signed as its auth says and returns the HTTP
// status and the answer's status ("accepted", "duplicate").
func postAnswer(t testing.TB, base string, src config.Source, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/"+src.Name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := webhookauth.Sign(src.Auth, req.Header, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Status string }
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.Status
}

// TestDedupCollisionEndToEnd: two different IDWise webhooks under one
// body.eventId (a vendor id that is not unique) are both stored and both
// normalized; a byte-identical redelivery of either is answered duplicate
// and stored once.
func TestDedupCollisionEndToEnd(t *testing.T) {
	cfg := devConfig(t, t.TempDir())
	cfg.NATS.Embedded.Listen = freeAddr(t)
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))
	src := sourceNamed(t, cfg, "idwise")
	// One journey: the parser's Key (body.eventId) is the same for both, so
	// the normalizer must tell them apart by the raw key.
	first := []byte(`{"event":"Finished Journey","body":{"eventId":"evt-shared","journeyId":"journey-a","systemDecision":"Refer"}}`)
	second := []byte(`{"event":"Manually Reviewed","body":{"eventId":"evt-shared","journeyId":"journey-a","manualDecision":"Approved","finalDecision":"Approved"}}`)
	steps := []struct {
		name string
		body []byte
		want string
	}{
		{"first body", first, "accepted"},
		{"other body, same eventId", second, "accepted"},
		{"redelivery of the first", first, "duplicate"},
		{"redelivery of the second", second, "duplicate"},
	}
	for _, s := range steps {
		if code, got := postAnswer(t, base, src, s.body); code != http.StatusOK || got != s.want {
			t.Fatalf("%s: %d %q, want 200 %q", s.name, code, got, s.want)
		}
	}
	url := "nats://" + cfg.NATS.Embedded.Listen
	var statuses []idv.Status
	natstest.Eventually(t, 30*time.Second, "both webhooks normalized", func() bool {
		statuses = nil
		for _, m := range natstest.ReadStream(t, url, bus.StreamEvents) {
			e, err := idv.FromNATS(m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			var d idv.VerificationUpdated
			if e.Type == string(idv.TypeVerificationUpdated) && json.Unmarshal(e.Data, &d) == nil {
				statuses = append(statuses, d.Status)
			}
		}
		return len(statuses) >= 2
	})
	if len(statuses) != 2 || statuses[0] != idv.StatusNeedsReview || statuses[1] != idv.StatusApproved {
		t.Fatalf("events: %v, want [needs_review approved]", statuses)
	}
	raw := natstest.ReadStream(t, url, bus.StreamRaw)
	if len(raw) != 2 {
		t.Fatalf("IDV_RAW holds %d messages, want 2", len(raw))
	}
	if id := raw[1].Header.Get(bus.HeaderMsgID); !strings.HasPrefix(id, "idwise:evt-shared:sha256:") {
		t.Errorf("second body stored under %q, want the derived key", id)
	}
	if dl := natstest.ReadStream(t, url, bus.StreamDLQ); len(dl) != 0 {
		t.Errorf("%d dead letters", len(dl))
	}
}
