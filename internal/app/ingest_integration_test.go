package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

const personaSecret = "wbhsec_test_secret"

// stack is ingest running against a real in-process JetStream server.
type stack struct {
	t    *testing.T
	js   *natstest.Server
	cfg  config.Config
	base string // the webhook port, http://127.0.0.1:port
	ops  string // the ops port
	done chan error
}

func testConfig(t *testing.T, natsURL string) config.Config {
	cfg := config.Default()
	cfg.NATS.URL = natsURL
	cfg.Ingest.PublishTimeout = 2 * time.Second
	cfg.Ingest.RetryAfter = 7 * time.Second
	cfg.Sources = []config.Source{
		{Name: "persona", Vendor: "persona", Auth: webhookauth.Config{Type: "persona", Secrets: []string{personaSecret}}},
		{Name: "credas", Vendor: "credas", Auth: webhookauth.Config{Type: "header", Header: "webhookAuth", Secrets: []string{"credas-token"}}},
	}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startStack starts JetStream and the ingest service; both stop on cleanup.
func startStack(t *testing.T) *stack {
	t.Helper()
	js := natstest.RunJS(t)
	s := &stack{t: t, js: js, cfg: testConfig(t, js.URL()), done: make(chan error, 1)}
	log := zaptest.NewLogger(t)
	nc, err := bus.Connect(s.cfg.NATS, "test-ingest", log)
	if err != nil {
		t.Fatal(err)
	}
	var ls app.Listeners
	ls, s.base, s.ops = loopbackListeners(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- app.Ingest(ctx, s.cfg, nc, ls, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-s.done; err != nil {
			t.Errorf("ingest returned %v", err)
		}
		nc.Close()
	})
	natstest.Eventually(t, 10*time.Second, "/readyz 200", func() bool { return s.get("/readyz") == http.StatusOK })
	return s
}

func (s *stack) get(path string) int {
	resp, err := http.Get(s.base + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

type reply struct {
	code       int
	status, id string
	retryAfter string
}

// post sends body to /webhooks/<source> with the given headers.
func (s *stack) post(source string, body []byte, hdr http.Header) reply {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/"+source, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var a struct{ Status, ID string }
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &a)
	return reply{code: resp.StatusCode, status: a.Status, id: a.ID, retryAfter: resp.Header.Get("Retry-After")}
}

func personaBody(eventID string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.approved","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_1","attributes":{"status":"approved","reference-id":"user-1"}}}}}}`, eventID))
}

func personaHeader(body []byte, at time.Time) http.Header {
	return http.Header{"Persona-Signature": {webhookauth.SignPersona(personaSecret, at, body)}, "Content-Type": {"application/json"}}
}

// rawMessages returns every message in IDV_RAW.
func rawMessages(t *testing.T, url string) []*jetstream.RawStreamMsg {
	return natstest.ReadStream(t, url, bus.StreamRaw)
}

func TestAcceptedWebhookIsStoredByteForByteWithHeaders(t *testing.T) {
	s := startStack(t)
	// Odd but valid JSON spacing and a unicode escape: stored exactly as sent.
	body := []byte(strings.Replace(string(personaBody("evt_abc")), `"data":`, "\"data\" :\n\t", 1) + "  \n")
	before := time.Now().UTC()
	r := s.post("persona", body, http.Header{
		"Persona-Signature": {webhookauth.SignPersona(personaSecret, time.Now(), body)},
		"Content-Type":      {"application/json; charset=utf-8"},
		"X-Request-Id":      {"req-123"},
	})
	if r.code != http.StatusOK || r.status != "accepted" || r.id != "persona:evt_abc" {
		t.Fatalf("got %+v, want 200 accepted persona:evt_abc", r)
	}
	msgs := rawMessages(t, s.js.URL())
	if len(msgs) != 1 {
		t.Fatalf("IDV_RAW has %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !bytes.Equal(m.Data, body) {
		t.Errorf("stored body differs:\n got %q\nwant %q", m.Data, body)
	}
	if m.Subject != "idv.raw.persona.persona" {
		t.Errorf("subject %q", m.Subject)
	}
	want := map[string]string{
		"Nats-Msg-Id": "persona:evt_abc", "Idv-Source": "persona", "Idv-Vendor": "persona",
		"Idv-Request-Id": "req-123", "Idv-Content-Type": "application/json; charset=utf-8",
	}
	for k, v := range want {
		if got := m.Header[k]; len(got) != 1 || got[0] != v { // exact, case-sensitive key
			t.Errorf("header %s = %v, want %q", k, got, v)
		}
	}
	at, err := time.Parse(time.RFC3339Nano, m.Header.Get("Idv-Received-At"))
	if got := m.Header.Get("Idv-Received-At"); len(got) != len("2006-01-02T15:04:05.000000000Z") {
		t.Errorf("Idv-Received-At %q is not fixed-width nanoseconds", got)
	}
	if err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) || at.Location() != time.UTC {
		t.Errorf("Idv-Received-At %q: %v", m.Header.Get("Idv-Received-At"), err)
	}
}

func TestRepeatIsDuplicateAndStoredOnce(t *testing.T) {
	s := startStack(t)
	body := personaBody("evt_dup")
	first := s.post("persona", body, personaHeader(body, time.Now()))
	// The vendor's retry is signed anew, at a later time: same event id.
	second := s.post("persona", body, personaHeader(body, time.Now().Add(time.Second)))
	if first.status != "accepted" || second.code != http.StatusOK || second.status != "duplicate" || second.id != first.id {
		t.Fatalf("first %+v second %+v", first, second)
	}
	// A vendor without event ids (Credas): the same body is the same event.
	credas := []byte(`{"UpdateType":1,"Payload":"{\"EntityId\":\"e1\",\"NameCheckVerificationResult\":3}"}`)
	h := http.Header{"Webhookauth": {"credas-token"}}
	c1, c2 := s.post("credas", credas, h), s.post("credas", credas, h)
	if c1.status != "accepted" || c2.status != "duplicate" || !strings.HasPrefix(c1.id, "credas:sha256:") {
		t.Fatalf("credas: %+v %+v", c1, c2)
	}
	if n := len(rawMessages(t, s.js.URL())); n != 2 {
		t.Fatalf("IDV_RAW has %d messages, want 2", n)
	}
}

func TestNothingStoredOn4xx(t *testing.T) {
	s := startStack(t)
	body := personaBody("evt_4xx")
	big := bytes.Repeat([]byte("a"), int(s.cfg.Ingest.MaxBodyBytes)+1)
	cases := []struct {
		name   string
		source string
		body   []byte
		hdr    http.Header
		code   int
	}{
		{"wrong secret", "persona", body, http.Header{"Persona-Signature": {webhookauth.SignPersona("other", time.Now(), body)}}, 401},
		{"tampered body", "persona", append([]byte(nil), personaBody("evt_other")...), personaHeader(body, time.Now()), 401},
		{"stale timestamp", "persona", body, personaHeader(body, time.Now().Add(-10*time.Minute)), 401},
		{"future timestamp", "persona", body, personaHeader(body, time.Now().Add(10*time.Minute)), 401},
		{"missing signature", "persona", body, http.Header{}, 401},
		{"malformed signature", "persona", body, http.Header{"Persona-Signature": {"garbage"}}, 401},
		{"wrong static token", "credas", body, http.Header{"Webhookauth": {"nope"}}, 401},
		{"unknown source", "nosuch", body, personaHeader(body, time.Now()), 404},
		{"empty body", "persona", nil, personaHeader(nil, time.Now()), 400},
		{"too large", "persona", big, personaHeader(big, time.Now()), 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := s.post(tc.source, tc.body, tc.hdr); r.code != tc.code || r.status != "error" {
				t.Fatalf("got %+v, want %d", r, tc.code)
			}
		})
	}
	resp, err := http.Get(s.base + "/webhooks/persona")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhooks/persona = %d, want 405", resp.StatusCode)
	}
	if n := len(rawMessages(t, s.js.URL())); n != 0 {
		t.Fatalf("IDV_RAW has %d messages after only refused requests, want 0", n)
	}
}

func TestJetStreamDownGives503ThenRetryIsAccepted(t *testing.T) {
	s := startStack(t)
	s.js.Stop()
	body := personaBody("evt_outage")
	r := s.post("persona", body, personaHeader(body, time.Now()))
	if r.code != http.StatusServiceUnavailable || r.retryAfter != "7" {
		t.Fatalf("with JetStream down: got %+v, want 503 with Retry-After 7", r)
	}
	if code := s.get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while JetStream is down, want 503", code)
	}
	// The reason is for operators: on the ops port, never on the webhook port.
	if code, body := fetch(t, s.base+"/readyz"); code != http.StatusServiceUnavailable || body != "unavailable\n" {
		t.Errorf("webhook port /readyz: %d %q, want 503 \"unavailable\" alone", code, body)
	}
	if code, body := fetch(t, s.ops+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"not ready"`) || !strings.Contains(body, `"error":"`) {
		t.Errorf("ops /readyz: %d %q, want 503 with the reason", code, body)
	}
	s.js.Start()
	// The vendor retries until it gets a 2xx; the client reconnects within seconds.
	var got reply
	natstest.Eventually(t, 15*time.Second, "retry accepted", func() bool {
		got = s.post("persona", body, personaHeader(body, time.Now()))
		return got.code == http.StatusOK
	})
	if got.status != "accepted" && got.status != "duplicate" {
		t.Fatalf("retry: %+v", got)
	}
	if n := len(rawMessages(t, s.js.URL())); n != 1 {
		t.Fatalf("IDV_RAW has %d messages, want exactly 1", n)
	}
	natstest.Eventually(t, 5*time.Second, "/readyz 200", func() bool { return s.get("/readyz") == http.StatusOK })
}

func TestTopologyIsIdempotentAndConfigurable(t *testing.T) {
	s := startStack(t)
	nc := s.js.Connect(t)
	cfg := s.cfg.JetStream
	cfg.RawMaxAge = 48 * time.Hour
	cfg.DuplicateWindow = 10 * time.Minute
	b, err := bus.New(nc, cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ { // a second service starting, then a restart
		if err := b.EnsureTopology(ctx); err != nil {
			t.Fatalf("EnsureTopology #%d: %v", i, err)
		}
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.Config.MaxAge != 48*time.Hour || info.Config.Duplicates != 10*time.Minute || info.Config.Replicas != 1 {
		t.Errorf("IDV_RAW config not updated: max_age %s duplicates %s replicas %d", info.Config.MaxAge, info.Config.Duplicates, info.Config.Replicas)
	}
	for _, name := range []string{bus.StreamEvents, bus.StreamDLQ} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	if _, err := js.KeyValue(ctx, bus.BucketState); err != nil {
		t.Errorf("kv: %v", err)
	}
}

// fetch GETs url and returns the status and body ("" and 0 when unreachable).
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebhookPortAndOpsListener: the public port serves webhooks and the
// two bare probes only (404 on /metrics); /metrics, with the build info,
// and the detailed /readyz are on ingest.ops_listen.
func TestWebhookPortAndOpsListener(t *testing.T) {
	s := startStack(t)
	body := personaBody("evt_ops")
	if r := s.post("persona", body, personaHeader(body, time.Now())); r.code != 200 {
		t.Fatalf("POST: %+v", r)
	}
	if code, _ := fetch(t, s.base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("webhook port /metrics: %d, want 404", code)
	}
	if code, body := fetch(t, s.base+"/readyz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("webhook port /readyz: %d %q, want 200 \"ok\"", code, body)
	}
	if code, _ := fetch(t, s.base+"/healthz"); code != http.StatusOK {
		t.Errorf("webhook port /healthz: %d", code)
	}
	code, metrics := fetch(t, s.ops+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("ops /metrics: %d", code)
	}
	in := buildinfo.Get()
	for _, want := range []string{
		`idvbus_ingest_requests_total{outcome="accepted",source="persona"} 1`,
		fmt.Sprintf(`idvbus_build_info{commit=%q,go_version=%q,version=%q} 1`, in.Commit, in.GoVersion, in.Version),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("ops /metrics lacks %s", want)
		}
	}
	if code, body := fetch(t, s.ops+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("ops /readyz: %d %q", code, body)
	}
	if code, _ := fetch(t, s.ops+"/webhooks/persona"); code == http.StatusOK || code == 0 {
		t.Errorf("ops port took a webhook: %d", code)
	}
}
