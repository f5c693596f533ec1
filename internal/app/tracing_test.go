package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

const tracePersonaSecret = "wbhsec_trace_test"

// traceSubscriberSecret is a Standard Webhooks secret of 32 bytes.
const traceSubscriberSecret = "whsec_dHJhY2UtdGVzdC1zdWJzY3JpYmVyLXNlY3JldC0wMTIz"

// traceStack is the whole pipeline in one process on an in-process
// JetStream: ingest, normalizer and notifier, with one subscriber that
// answers 503 to its first request and 200 afterwards.
type traceStack struct {
	url  string // NATS
	base string // ingest
	mu   sync.Mutex
	reqs []http.Header // the subscriber's requests' headers
}

func startTraceStack(t *testing.T, tracer *tracing.Tracer) *traceStack {
	t.Helper()
	srv := natstest.RunJS(t)
	s := &traceStack{url: srv.URL()}
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Header.Clone())
		n := len(s.reqs)
		s.mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(sub.Close)

	cfg := config.Default()
	cfg.NATS.URL = srv.URL()
	cfg.Sources = []config.Source{{Name: "persona", Vendor: "persona",
		Auth: webhookauth.Config{Type: "persona", Secrets: []string{tracePersonaSecret}}}}
	cfg.Subscribers = []config.Subscriber{{Name: "onboarding", URL: sub.URL, Secrets: []string{traceSubscriberSecret},
		Retry: config.Retry{Schedule: []time.Duration{100 * time.Millisecond}, Jitter: -1, MaxAttempts: 5, MaxAge: time.Hour},
		// No pause: the 503 carries no Retry-After, and one failure must not open the circuit.
		Breaker: config.CircuitBreaker{Failures: -1}}}
	cfg.Notifier.ShutdownTimeout = time.Second
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	nc, err := bus.Connect(cfg.NATS, "test-tracing", log)
	if err != nil {
		t.Fatal(err)
	}
	var ls Listeners
	for _, ln := range []*net.Listener{&ls.Webhooks, &ls.Ops} {
		if *ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	s.base = "http://" + ls.Webhooks.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, nc, ls, log, parts{ingest: true, normalizer: true, notifier: true, tracer: tracer})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
		nc.Close()
	})
	natstest.Eventually(t, 10*time.Second, "/readyz 200", func() bool {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// post sends a signed Persona approval with the extra headers given.
func (s *traceStack) post(t *testing.T, extra http.Header) {
	t.Helper()
	body := []byte(`{"data":{"type":"event","id":"evt_trace_1","attributes":{"name":"inquiry.approved","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_trace_1","attributes":{"status":"approved","reference-id":"user-1"}}}}}}`)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/persona", bytes.NewReader(body))
	req.Header.Set("Persona-Signature", webhookauth.SignPersona(tracePersonaSecret, time.Now(), body))
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

// delivered waits for the subscriber's second request (the retry that succeeds).
func (s *traceStack) delivered(t *testing.T) []http.Header {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, "the retry delivered", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.reqs) >= 2
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.reqs...)
}

// TestTracingOneTraceFromWebhookToEveryAttempt: a signed webhook gives one
// trace: ingest's server span, the normalizer's span as its child, and one
// span per delivery attempt (a 503 then a 200) as the normalizer span's
// children. IDV_RAW and IDV_EVENTS carry the context as a lowercase
// traceparent header, and each request to the subscriber carries its
// attempt's.
func TestTracingOneTraceFromWebhookToEveryAttempt(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	s := startTraceStack(t, tracing.New(tp))

	s.post(t, nil)
	reqs := s.delivered(t)
	var spans map[string][]sdktrace.ReadOnlySpan
	natstest.Eventually(t, 10*time.Second, "four spans ended", func() bool {
		spans = map[string][]sdktrace.ReadOnlySpan{}
		for _, sp := range rec.Ended() {
			spans[sp.Name()] = append(spans[sp.Name()], sp)
		}
		return len(spans["deliver"]) == 2
	})
	if len(spans["POST /webhooks/{source}"]) != 1 || len(spans["normalize"]) != 1 || len(rec.Ended()) != 4 {
		t.Fatalf("spans: %v", spanNames(rec.Ended()))
	}
	in, norm := spans["POST /webhooks/{source}"][0], spans["normalize"][0]
	tid := in.SpanContext().TraceID()
	if in.Parent().IsValid() || in.SpanKind() != trace.SpanKindServer {
		t.Fatalf("ingest span: parent %v, kind %v; want a root server span", in.Parent(), in.SpanKind())
	}
	wantAttrs(t, in, map[string]string{"idvbus.source": "persona", "idvbus.vendor": "persona", "idvbus.outcome": "accepted",
		"http.response.status_code": "200", "http.route": "/webhooks/{source}", "idvbus.msg_id": "persona:evt_trace_1"})
	if norm.SpanContext().TraceID() != tid || norm.Parent().SpanID() != in.SpanContext().SpanID() {
		t.Fatalf("normalize span is not the ingest span's child")
	}
	wantAttrs(t, norm, map[string]string{"idvbus.outcome": "emitted", "idvbus.events": "1", "idvbus.vendor_event": "inquiry.approved"})
	attempts := spans["deliver"]
	if attempts[0].StartTime().After(attempts[1].StartTime()) {
		attempts[0], attempts[1] = attempts[1], attempts[0]
	}
	for i, a := range attempts {
		if a.SpanContext().TraceID() != tid || a.Parent().SpanID() != norm.SpanContext().SpanID() {
			t.Fatalf("attempt %d is not the normalize span's child", i+1)
		}
	}
	wantAttrs(t, attempts[0], map[string]string{"idvbus.subscriber": "onboarding", "idvbus.attempt": "1",
		"http.response.status_code": "503", "idvbus.outcome": "server_error", "idvbus.retry_in_ms": "100"})
	wantAttrs(t, attempts[1], map[string]string{"idvbus.attempt": "2", "http.response.status_code": "200", "idvbus.outcome": "success"})

	// The headers: lowercase in NATS, the span that wrote them.
	raw := natstest.ReadStream(t, s.url, bus.StreamRaw)
	events := natstest.ReadStream(t, s.url, bus.StreamEvents)
	if len(raw) != 1 || len(events) != 1 {
		t.Fatalf("%d raw, %d events", len(raw), len(events))
	}
	checkParent(t, "IDV_RAW", raw[0].Header["traceparent"], in)
	checkParent(t, "IDV_EVENTS", events[0].Header["traceparent"], norm)
	for _, h := range [][]string{raw[0].Header["Traceparent"], events[0].Header["Traceparent"]} {
		if h != nil {
			t.Fatalf("a NATS message carries Traceparent (canonical case): %v", h)
		}
	}
	for i, r := range reqs[:2] {
		checkParent(t, fmt.Sprintf("request %d", i+1), r.Values("traceparent"), attempts[i])
	}
}

// TestTracingHonoursIncomingTraceparent: a vendor's traceparent makes the
// webhook's trace a part of the vendor's.
func TestTracingHonoursIncomingTraceparent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	s := startTraceStack(t, tracing.New(tp))
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	s.post(t, http.Header{"Traceparent": {parent}})
	s.delivered(t)
	natstest.Eventually(t, 10*time.Second, "four spans ended", func() bool { return len(rec.Ended()) == 4 })
	for _, sp := range rec.Ended() {
		if got := sp.SpanContext().TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
			t.Fatalf("span %s in trace %s, want the vendor's", sp.Name(), got)
		}
		if sp.Name() == "POST /webhooks/{source}" && sp.Parent().SpanID().String() != "b7ad6b7169203331" {
			t.Fatalf("ingest span's parent %s, want the vendor's span", sp.Parent().SpanID())
		}
	}
}

// TestTracingOffWritesNothing: without a tracing endpoint no span is made
// (not even on OpenTelemetry's global provider) and no traceparent header is
// written to IDV_RAW, IDV_EVENTS or the subscriber's requests, even when the
// vendor sent one.
func TestTracingOffWritesNothing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) }()

	s := startTraceStack(t, nil)
	s.post(t, http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	reqs := s.delivered(t)
	raw := natstest.ReadStream(t, s.url, bus.StreamRaw)
	events := natstest.ReadStream(t, s.url, bus.StreamEvents)
	if len(raw) != 1 || len(events) != 1 {
		t.Fatalf("%d raw, %d events", len(raw), len(events))
	}
	for what, h := range map[string]map[string][]string{"IDV_RAW": raw[0].Header, "IDV_EVENTS": events[0].Header,
		"request 1": reqs[0], "request 2": reqs[1]} {
		for k := range h {
			if k == "traceparent" || k == "Traceparent" || k == "tracestate" || k == "Tracestate" {
				t.Errorf("%s carries %s with tracing off", what, k)
			}
		}
	}
	if n := len(rec.Started()); n != 0 {
		t.Fatalf("%d spans started with tracing off", n)
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// wantAttrs checks attributes of a span (values compared as text).
func wantAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, kv := range sp.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %s: %s = %q, want %q (all: %v)", sp.Name(), k, got[k], v, got)
		}
	}
}

// checkParent checks that a traceparent header names span.
func checkParent(t *testing.T, where string, values []string, span sdktrace.ReadOnlySpan) {
	t.Helper()
	want := fmt.Sprintf("00-%s-%s-01", span.SpanContext().TraceID(), span.SpanContext().SpanID())
	if len(values) != 1 || values[0] != want {
		t.Fatalf("%s: traceparent %v, want [%s] (span %s)", where, values, want, span.Name())
	}
}
