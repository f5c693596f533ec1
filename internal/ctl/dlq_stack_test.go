package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// The in-process stack of the dead-letter and replay tests: JetStream, the
// normalizer and (with subscribers) the notifier as separate services, raw
// webhooks stored as ingest stores them, and receiving services.

var dlqTestSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("ctl-dlq-test-subscriber-secret!!"))

type dlqStack struct {
	js  *natstest.Server
	cfg config.Config
	b   *bus.Bus
}

func startDLQStack(t *testing.T, subs ...config.Subscriber) *dlqStack {
	t.Helper()
	js := natstest.RunJS(t)
	cfg := config.Default()
	cfg.NATS.URL = js.URL()
	cfg.Normalizer.Backoff = []time.Duration{100 * time.Millisecond}
	cfg.Normalizer.ShutdownTimeout = time.Second
	cfg.Notifier.AckWait = 2 * time.Second
	cfg.Notifier.ShutdownTimeout = time.Second
	cfg.Sources = []config.Source{{Name: "persona", Vendor: "persona",
		Auth: webhookauth.Config{Type: "persona", Secrets: []string{"wbhsec_ctl_test"}}}}
	cfg.Subscribers = subs
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s := &dlqStack{js: js, cfg: cfg, b: js.Bus(t, cfg.JetStream)}
	s.run(t, app.Normalizer)
	if len(subs) > 0 {
		s.run(t, app.Notifier)
	}
	return s
}

// run starts one service with its own connection and ops listener, waits
// until it is ready, and stops it on cleanup.
func (s *dlqStack) run(t *testing.T, svc apptest.Service) {
	t.Helper()
	apptest.Run(t, "service", svc, s.cfg, s.js.Connect(t), zaptest.NewLogger(t), 10*time.Second)
}

// dlqPersonaWebhook is a Persona webhook: event eventID moves inquiry to status.
func dlqPersonaWebhook(eventID, inquiry, status string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.%s","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":%q,"attributes":{"status":%q,"reference-id":"user-7"}}}}}}`,
		eventID, status, inquiry, status))
}

// storeRaw stores a webhook in IDV_RAW as ingest does (dedup key
// persona:<event id>) and returns its sequence.
func (s *dlqStack) storeRaw(t *testing.T, key string, body []byte) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.b.PublishRaw(ctx, bus.RawMessage{Source: "persona", Vendor: "persona", MsgID: key,
		RequestID: "req-" + key, ContentType: "application/json", ReceivedAt: time.Now(), Body: body})
	if err != nil || st.Duplicate {
		t.Fatalf("store raw %s: %v (duplicate %v)", key, err, st.Duplicate)
	}
	return st.Seq
}

func (s *dlqStack) read(t *testing.T, stream string) []bus.StoredMsg {
	t.Helper()
	var out []bus.StoredMsg
	for _, m := range natstest.ReadStream(t, s.js.URL(), stream) {
		out = append(out, bus.StoredMsg{Stream: stream, Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Header: m.Header, Data: m.Data})
	}
	return out
}

// settled reports whether a durable consumer has nothing pending or unacked.
func (s *dlqStack) settled(t *testing.T, stream, durable string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, ap, err := s.b.ConsumerPending(ctx, stream, durable)
	return err == nil && p == 0 && ap == 0
}

// ctl runs idvctl against the stack and returns its exit code and output.
func (s *dlqStack) ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	code, out, errs := idvctl(t, nil, append([]string{"--nats", s.js.URL(), "--timeout", "5s"}, args...)...)
	t.Logf("idvctl %v -> %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errs)
	return code, out, errs
}

// dlqJSONLines decodes each stdout line into a T.
func dlqJSONLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var res []T
	sc := bufio.NewScanner(bytes.NewBufferString(out))
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		res = append(res, v)
	}
	return res
}

// webhookReceiver is a subscriber's receiving service: it records the
// webhook-id of each request and answers with status (settable).
type webhookReceiver struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	ids    []string
}

func newWebhookReceiver(t *testing.T, status int) *webhookReceiver {
	t.Helper()
	r := &webhookReceiver{}
	r.status.Store(int32(status))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func (r *webhookReceiver) subscriber(name string) config.Subscriber {
	return config.Subscriber{Name: name, URL: r.srv.URL, Secrets: []string{dlqTestSecret}, Start: "all"}
}
