package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

const secret = "wbhsec_unit_secret"

// fakeStore records publishes; block, when set, holds each publish until closed.
type fakeStore struct {
	mu      sync.Mutex
	msgs    []bus.RawMessage
	seen    map[string]bool
	err     error
	block   chan struct{}
	entered chan struct{}
}

func (f *fakeStore) PublishRaw(ctx context.Context, m bus.RawMessage) (bus.Stored, error) {
	if f.block != nil {
		f.entered <- struct{}{}
		select {
		case <-f.block:
		case <-ctx.Done():
			return bus.Stored{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return bus.Stored{}, f.err
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[m.MsgID] {
		return bus.Stored{Seq: 1, Duplicate: true}, nil
	}
	f.seen[m.MsgID] = true
	f.msgs = append(f.msgs, m)
	return bus.Stored{Seq: uint64(len(f.msgs))}, nil
}

func (f *fakeStore) Ready(context.Context) error { return nil }

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

// store is what newService's service writes to.
type store interface {
	ingest.RawStore
	ingest.ReadyChecker
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newService(t *testing.T, st *fakeStore, mutate func(*config.Ingest, *[]config.Source), log *zap.Logger) (*ingest.Service, *ingest.Metrics) {
	return newServiceOpts(t, st, mutate, log)
}

func newServiceOpts(t testing.TB, st store, mutate func(*config.Ingest, *[]config.Source), log *zap.Logger) (*ingest.Service, *ingest.Metrics) {
	t.Helper()
	cfg := config.Default().Ingest
	sources := []config.Source{{Name: "persona", Vendor: "persona",
		Auth: webhookauth.Config{Type: "persona", Secrets: []string{secret}}}}
	if mutate != nil {
		mutate(&cfg, &sources)
	}
	if log == nil {
		log = zap.NewNop()
	}
	m := ingest.NewMetrics()
	svc, err := ingest.New(ingest.Options{Config: cfg, Sources: sources, Store: st, Ready: st, Log: log, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return svc, m
}

func signedRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/persona", bytes.NewReader(body))
	r.Header.Set("Persona-Signature", webhookauth.SignPersona(secret, time.Now(), body))
	return r
}

func body(id string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.approved"}}}`, id))
}

func TestStoreErrorGives503WithRetryAfter(t *testing.T) {
	store := &fakeStore{err: errors.New("nats: timeout")}
	svc, m := newService(t, store, func(c *config.Ingest, _ *[]config.Source) { c.RetryAfter = 30 * time.Second }, nil)
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, signedRequest(body("evt_1")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "30" {
		t.Fatalf("got %d Retry-After %q, want 503 and 30", w.Code, w.Header().Get("Retry-After"))
	}
	if got := testutil.ToFloat64(m.Requests().WithLabelValues("persona", ingest.OutcomeUnavailable)); got != 1 {
		t.Errorf("unavailable counter = %v, want 1", got)
	}
}

func TestMetricsCountOutcomesAndPublishLatency(t *testing.T) {
	store := &fakeStore{}
	svc, m := newService(t, store, nil, nil)
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	h := svc.Handler()
	for _, r := range []*http.Request{signedRequest(body("a")), signedRequest(body("a")), signedRequest(body("b")),
		httptest.NewRequest(http.MethodPost, "/webhooks/persona", strings.NewReader("x")),
		httptest.NewRequest(http.MethodPost, "/webhooks/scan-"+strings.Repeat("x", 10), strings.NewReader("x"))} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := w.Body.String()
	for _, want := range []string{
		`idvbus_ingest_requests_total{outcome="accepted",source="persona"} 2`,
		`idvbus_ingest_requests_total{outcome="duplicate",source="persona"} 1`,
		`idvbus_ingest_requests_total{outcome="unauthorized",source="persona"} 1`,
		`idvbus_ingest_requests_total{outcome="unknown_source",source="_unknown"} 1`,
		`idvbus_ingest_publish_duration_seconds_count{result="ok",source="persona"} 3`,
		`idvbus_ingest_auth_failures_total{reason="missing_header",source="persona"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestLogsNeverContainBodyOrSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	store := &fakeStore{}
	const token = "static-token-SECRET"
	svc, _ := newService(t, store, func(_ *config.Ingest, s *[]config.Source) {
		*s = append(*s, config.Source{Name: "credas", Vendor: "credas",
			Auth: webhookauth.Config{Type: "header", Header: "webhookAuth", Secrets: []string{token}}})
	}, zap.New(core))
	h := svc.Handler()
	pii := []byte(`{"data":{"id":"evt_pii","attributes":{"name":"Jane PII-MARKER Doe"}}}`)
	requests := []*http.Request{signedRequest(pii)}
	bad := httptest.NewRequest(http.MethodPost, "/webhooks/persona", bytes.NewReader(pii))
	bad.Header.Set("Persona-Signature", webhookauth.SignPersona("wrong-"+secret, time.Now(), pii))
	requests = append(requests, bad)
	wrongToken := httptest.NewRequest(http.MethodPost, "/webhooks/credas", bytes.NewReader(pii))
	wrongToken.Header.Set("webhookAuth", token+"x")
	requests = append(requests, wrongToken)
	for _, r := range requests {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	store.err = errors.New("down")
	h.ServeHTTP(httptest.NewRecorder(), signedRequest(pii))
	if logs.Len() == 0 {
		t.Fatal("no log lines at all: the test would prove nothing")
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, leak := range []string{"PII-MARKER", secret, token, "v1="} {
			if strings.Contains(line, leak) {
				t.Errorf("log line leaks %q: %s", leak, line)
			}
		}
	}
}

func TestAllowIPsBehindTrustedProxy(t *testing.T) {
	store := &fakeStore{}
	svc, _ := newService(t, store, func(c *config.Ingest, s *[]config.Source) {
		c.TrustedProxies = []string{"10.0.0.0/8"}
		(*s)[0].Auth.AllowIPs = []string{"203.0.113.0/24"}
	}, nil)
	h := svc.Handler()
	cases := []struct {
		name, remote, xff string
		want              int
	}{
		{"vendor via proxy", "10.1.1.1:5555", "203.0.113.9", 200},
		{"vendor via two proxies", "10.1.1.1:5555", "203.0.113.9, 10.2.2.2", 200},
		{"forged left-most entry", "10.1.1.1:5555", "203.0.113.9, 198.51.100.7", 401},
		{"untrusted peer's XFF is ignored", "198.51.100.7:5555", "203.0.113.9", 401},
		{"vendor direct", "203.0.113.10:443", "", 200},
		{"garbage XFF", "10.1.1.1:5555", "not-an-ip", 401},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := signedRequest(body(fmt.Sprintf("evt_ip_%d", i)))
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("got %d, want %d", w.Code, tc.want)
			}
		})
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	store := &fakeStore{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	svc, _ := newService(t, store, nil, nil)
	ln, cancel, served := serve(t, svc)

	got := make(chan int, 1)
	go func() {
		b := body("evt_inflight")
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/webhooks/persona", bytes.NewReader(b))
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(secret, time.Now(), b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-store.entered // the request waits for its PubAck
	cancel()        // SIGTERM arrives
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts new connections during shutdown")
	}
	close(store.block) // the PubAck arrives
	if code := <-got; code != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if store.count() != 1 {
		t.Fatalf("stored %d, want 1", store.count())
	}
}

// serve runs svc on a loopback listener until cancel; served yields Serve's result.
func serve(t *testing.T, svc *ingest.Service) (ln net.Listener, cancel context.CancelFunc, served chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served = make(chan error, 1)
	go func() { served <- svc.Serve(ctx, ln, svc.Handler()) }()
	return ln, cancel, served
}

func TestSlowClientIsCutOff(t *testing.T) {
	store := &fakeStore{}
	svc, _ := newService(t, store, func(c *config.Ingest, _ *[]config.Source) {
		c.ReadHeaderTimeout = 200 * time.Millisecond
		c.ReadTimeout = 300 * time.Millisecond
	}, nil)
	ln, cancel, served := serve(t, svc)
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	for _, tc := range []struct{ name, partial string }{
		{"headers never finish", "POST /webhooks/persona HTTP/1.1\r\nHost: x\r\n"},
		{"body never finishes", "POST /webhooks/persona HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"data\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.partial); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 400 {
					t.Fatalf("slow client answered %d", resp.StatusCode)
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("connection held %s; the server's timeouts did not cut it", d)
			}
		})
	}
	if store.count() != 0 {
		t.Fatalf("stored %d from slow clients", store.count())
	}
}

func TestDisallowedIPRefusedBeforeBodyIsRead(t *testing.T) {
	store := &fakeStore{}
	svc, _ := newService(t, store, func(_ *config.Ingest, s *[]config.Source) {
		(*s)[0].Auth.AllowIPs = []string{"203.0.113.0/24"}
	}, nil)
	read := 0
	r := signedRequest(body("evt_ip"))
	r.RemoteAddr = "198.51.100.7:1234"
	r.Body = io.NopCloser(readCounter{r.Body, &read})
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || read != 0 || store.count() != 0 {
		t.Fatalf("got %d after reading %d body bytes, stored %d; want 401, 0, 0", w.Code, read, store.count())
	}
}

type readCounter struct {
	r io.Reader
	n *int
}

func (c readCounter) Read(p []byte) (int, error) { n, err := c.r.Read(p); *c.n += n; return n, err }

// TestUnknownSourceIsLogged: a 404 leaves a log line naming the requested
// source (when it has a source name's shape) and the configured ones, so a
// misconfigured vendor URL can be found in the log.
func TestUnknownSourceIsLogged(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	svc, _ := newService(t, &fakeStore{}, nil, zap.New(core))
	h := svc.Handler()
	for _, path := range []string{"/webhooks/persona2", "/webhooks/Not%20A%20Name"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		if w.Code != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", path, w.Code)
		}
	}
	lines := logs.FilterMessageSnippet("unknown source").All()
	if len(lines) != 2 {
		t.Fatalf("%d log lines about unknown sources, want 2: %v", len(lines), logs.All())
	}
	first, second := lines[0].ContextMap(), lines[1].ContextMap()
	if first["source"] != "persona2" || fmt.Sprint(first["sources"]) != "[persona]" || first["request_id"] == "" {
		t.Errorf("first line: %v", first)
	}
	if second["source"] != "(not a source name)" {
		t.Errorf("a name that is not a source name's shape was logged: %v", second)
	}
}

// collisionStore answers every publish as a collision: JetStream had another
// body under the vendor id, so the bus stored this one under a derived key.
type collisionStore struct{ fakeStore }

func (c *collisionStore) PublishRaw(_ context.Context, m bus.RawMessage) (bus.Stored, error) {
	return bus.Stored{Seq: 2, MsgID: bus.CollisionKey(m.MsgID, m.Body), Collision: true}, nil
}

// TestCollisionIsAcceptedCountedAndLogged: a body stored under a derived key
// is answered accepted with that key, counted in
// idvbus_ingest_dedup_collisions_total and logged without its content.
func TestCollisionIsAcceptedCountedAndLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	svc, m := newServiceOpts(t, &collisionStore{}, nil, zap.New(core))
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	b := body("evt_SENTINEL")
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, signedRequest(b))
	want := bus.CollisionKey("persona:evt_SENTINEL", b)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"accepted"`) || !strings.Contains(w.Body.String(), want) {
		t.Fatalf("answer %d %s, want accepted with id %s", w.Code, w.Body, want)
	}
	if n, err := testutil.GatherAndCount(reg, "idvbus_ingest_dedup_collisions_total"); err != nil || n != 1 {
		t.Fatalf("collision series: %d, %v", n, err)
	}
	lines := logs.FilterMessageSnippet("different body").All()
	if len(lines) != 1 {
		t.Fatalf("%d collision log lines, want 1", len(lines))
	}
	for _, f := range lines[0].Context {
		if strings.Contains(f.String, "inquiry.approved") {
			t.Errorf("log field %s repeats the body", f.Key)
		}
	}
}
