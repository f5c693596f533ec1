package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestAllInOneWebhookToCloudEvent is the product's promise end to end, on
// the all-in-one with its embedded JetStream and the development sources: a
// signed webhook of each vendor becomes the right CloudEvent on the right
// IDV_EVENTS subject, read by a plain JetStream consumer.
func TestAllInOneWebhookToCloudEvent(t *testing.T) {
	cfg := devConfig(t, t.TempDir())
	cfg.NATS.Embedded.Listen = freeAddr(t)
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))

	nc, err := nats.Connect("nats://" + cfg.NATS.Embedded.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// want holds data fields the event must carry (compared as JSON values).
	cases := []struct {
		source, fixture, subject, typ string
		want                          map[string]any
	}{
		{"persona", "persona/testdata/inquiry.approved.json", "idv.events.persona.verification.approved", string(idv.TypeVerificationUpdated),
			map[string]any{"verification_id": "inq_golden1", "reference_id": "user-42", "status": "approved", "decided_by": "vendor",
				"revision": 1.0, "terminal": true, "vendor_event": "inquiry.approved"}},
		{"incode", "incode/testdata/MANUAL_REVIEW_APPROVED.json", "idv.events.incode.verification.approved", string(idv.TypeVerificationUpdated),
			map[string]any{"verification_id": "itv_golden1", "status": "approved", "decided_by": "manual_review", "revision": 1.0}},
		{"idwise", "idwise/testdata/manually_reviewed_approved.json", "idv.events.idwise.verification.approved", string(idv.TypeVerificationUpdated),
			map[string]any{"verification_id": "journey-golden-1", "reference_id": "user-42", "status": "approved", "decided_by": "manual_review"}},
		{"credas", "credas/testdata/01_name_check.json", "idv.events.credas.check.name_check", string(idv.TypeCheckCompleted),
			map[string]any{"check": "name_check", "result": "needs_review", "vendor_check": "NameCheckVerificationResult", "vendor_result": "3"}},
	}
	for _, tc := range cases {
		t.Run(tc.source, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "..", "internal", "vendors", tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if code := postSigned(t, base, sourceNamed(t, cfg, tc.source), body); code != 200 {
				t.Fatalf("POST: %d", code)
			}
			// A plain consumer on the subject, as any subscriber would make.
			cons, err := js.OrderedConsumer(ctx, "IDV_EVENTS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{tc.subject}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := cons.Next(jetstream.FetchMaxWait(15 * time.Second))
			if err != nil {
				t.Fatalf("no event on %s: %v", tc.subject, err)
			}
			e, err := idv.FromNATS(m.Headers(), m.Data())
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != tc.typ || e.Source != "/sources/"+tc.source || e.Vendor() != tc.source {
				t.Fatalf("event %+v", e)
			}
			if err := schemas.Validate(e.Type, e.Data); err != nil {
				t.Fatal(err)
			}
			var data map[string]any
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if data[k] != v {
					t.Errorf("data.%s = %v, want %v", k, data[k], v)
				}
			}
		})
	}
}

func sourceNamed(t *testing.T, cfg config.Config, name string) config.Source {
	for _, s := range cfg.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %s", name)
	return config.Source{}
}

// TestAllInOneGarbageGoesToDLQ: a body with a valid signature that does not
// parse is accepted (it is stored), then dead-lettered with its reason and
// original sequence.
func TestAllInOneGarbageGoesToDLQ(t *testing.T) {
	cfg := devConfig(t, t.TempDir())
	cfg.NATS.Embedded.Listen = freeAddr(t)
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))
	body := []byte(`{"data": "this is not a Persona event"}`)
	if code, status := sendPersona(t, http.DefaultClient, base, body); code != 200 || status != "accepted" {
		t.Fatalf("POST: %d %s", code, status)
	}
	url := "nats://" + cfg.NATS.Embedded.Listen
	var dl []*jetstream.RawStreamMsg
	natstest.Eventually(t, 15*time.Second, "a dead letter", func() bool {
		dl = natstest.ReadStream(t, url, "IDV_DLQ")
		return len(dl) == 1
	})
	raw := natstest.ReadStream(t, url, "IDV_RAW")
	h := dl[0].Header
	if dl[0].Subject != "idv.dlq.normalize.persona" || !bytes.Equal(dl[0].Data, body) ||
		h.Get("Idv-Original-Seq") != fmt.Sprint(raw[0].Sequence) || h.Get("Idv-Original-Subject") != "idv.raw.persona.persona" ||
		h.Get("Idv-Stage") != "normalize" || h.Get("Idv-Attempts") != "1" {
		t.Fatalf("dead letter %s %v", dl[0].Subject, h)
	}
	if got := h.Get("Idv-Error"); got == "" || bytes.Contains([]byte(got), []byte("this is not")) {
		t.Fatalf("Idv-Error %q: empty or echoing the body", got)
	}
}

// TestSeparateIngestAndNormalizer runs the two services as separate
// processes would (own connections, own HTTP listeners) against one
// JetStream: a webhook accepted by ingest is normalized, and the
// normalizer's /readyz and /metrics show it.
func TestSeparateIngestAndNormalizer(t *testing.T) {
	s := startStack(t)
	log := zaptest.NewLogger(t)
	nc, err := nats.Connect(s.js.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ls, _, ops := loopbackListeners(t)
	ls.Webhooks.Close() // the normalizer has no webhook port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Normalizer(ctx, s.cfg, nc, ls, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("normalizer returned %v", err)
		}
	}()
	waitReady(t, ops, 10*time.Second)
	body := personaBody("evt_separate")
	if r := s.post("persona", body, personaHeader(body, time.Now())); r.code != 200 {
		t.Fatalf("POST: %d", r.code)
	}
	natstest.Eventually(t, 15*time.Second, "the event counted in /metrics", func() bool {
		resp, err := http.Get(ops + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return bytes.Contains(buf.Bytes(), []byte(`idvbus_normalizer_messages_total{outcome="emitted",vendor="persona"} 1`)) &&
			bytes.Contains(buf.Bytes(), []byte("idvbus_normalizer_consumer_pending 0"))
	})
	if got := natstest.ReadStream(t, s.js.URL(), "IDV_EVENTS"); len(got) != 1 || got[0].Subject != "idv.events.persona.verification.approved" {
		t.Fatalf("events: %d", len(got))
	}
}
