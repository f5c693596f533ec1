package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Secrets of 32 random-looking bytes, as a receiver would be given.
var (
	secretOld = "whsec_" + base64.StdEncoding.EncodeToString([]byte("old-secret-0123456789abcdefghijk"))
	secretNew = "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-secret-0123456789abcdefghijk"))
)

// stack is an in-process JetStream with idvbus's topology.
type stack struct {
	srv *natstest.Server
	cfg config.Config
	b   *bus.Bus
}

func newStack(t *testing.T) *stack {
	t.Helper()
	srv := natstest.RunJS(t)
	cfg := config.Default()
	cfg.Notifier.AckWait = 2 * time.Second
	cfg.Notifier.ShutdownTimeout = 2 * time.Second
	return &stack{srv: srv, cfg: cfg, b: srv.Bus(t, cfg.JetStream)}
}

// subscriber returns a subscriber config with test-sized defaults: short
// timeout and schedule, no jitter.
func subscriber(name, url string) config.Subscriber {
	return config.Subscriber{
		Name: name, URL: url, Secrets: []string{secretNew},
		Filter: idv.Filter{}.Normalized(), Format: notify.FormatStructured,
		Timeout: time.Second, Concurrency: 4, Start: "all", MaxAckPending: 1000,
		Retry:   config.Retry{Schedule: []time.Duration{100 * time.Millisecond}, Jitter: -1, MaxAttempts: 3, MaxAge: time.Hour},
		Breaker: config.CircuitBreaker{Failures: -1},
	}
}

// running is a notifier running on its own connection.
type running struct {
	nc      *nats.Conn
	cancel  context.CancelFunc
	done    chan struct{}
	metrics *notify.Metrics
	reg     *prometheus.Registry // where metrics are registered
}

func (s *stack) run(t *testing.T, subs ...config.Subscriber) *running {
	t.Helper()
	return s.runLogged(t, zaptest.NewLogger(t).Named("notifier"), subs...)
}

// runLogged is run with the notifier logging to log.
func (s *stack) runLogged(t *testing.T, log *zap.Logger, subs ...config.Subscriber) *running {
	t.Helper()
	nc, err := nats.Connect(s.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.New(nc, s.cfg.JetStream, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	n, m, reg := s.newNotifier(t, b, log, subs...)
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.EnsureConsumers(ctx); err != nil {
		t.Fatal(err)
	}
	r := &running{nc: nc, cancel: cancel, done: make(chan struct{}), metrics: m, reg: reg}
	go func() { defer close(r.done); _ = n.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// newNotifier builds a notifier on b, its metrics registered in a registry
// of its own.
func (s *stack) newNotifier(t *testing.T, b *bus.Bus, log *zap.Logger, subs ...config.Subscriber) (*notify.Notifier, *notify.Metrics, *prometheus.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := b.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := notify.NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Options{Config: s.cfg.Notifier, Subscribers: subs, Bus: b, Store: store, Log: log, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return n, m, reg
}

// stop stops the notifier cleanly and waits for it.
func (r *running) stop() {
	r.cancel()
	<-r.done
	r.nc.Close()
}

// kill drops the notifier's connection first, as a crash would: nothing it
// held is acked or nak'ed.
func (r *running) kill() {
	r.nc.Close()
	r.cancel()
	<-r.done
}

// publish stores a verification event in IDV_EVENTS and returns its id.
func (s *stack) publish(t *testing.T, vendor, verificationID string, status idv.Status, rev uint64) string {
	t.Helper()
	id := fmt.Sprintf("evt-%s-%s-%d", vendor, verificationID, rev)
	s.publishID(t, id, vendor, verificationID, status, rev)
	return id
}

// publishID is publish of an event with the given id.
func (s *stack) publishID(t *testing.T, id, vendor, verificationID string, status idv.Status, rev uint64) {
	t.Helper()
	now := time.Now().UTC()
	e, err := events.NewVerificationUpdated(events.Meta{ID: id, Source: vendor, Vendor: vendor, Subject: verificationID, Time: now},
		idv.VerificationUpdated{VerificationID: verificationID, Vendor: vendor, Source: vendor, Status: status,
			Terminal: status.Terminal(), DecidedBy: idv.DecidedByVendor, Revision: rev, VendorEvent: "test",
			OccurredAt: now, ReceivedAt: now, Raw: idv.RawRef{Stream: bus.StreamRaw, Seq: rev}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = idv.VerificationSubject(vendor, status)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.b.PublishEvents(ctx, []*nats.Msg{m}); err != nil {
		t.Fatal(err)
	}
}

// publishCheck stores a check event and returns its id.
func (s *stack) publishCheck(t *testing.T, vendor, verificationID string, check idv.Check, result idv.Result) string {
	t.Helper()
	id := fmt.Sprintf("chk-%s-%s-%s", vendor, verificationID, check)
	now := time.Now().UTC()
	e, err := events.NewCheckCompleted(events.Meta{ID: id, Source: vendor, Vendor: vendor, Subject: verificationID, Time: now},
		idv.CheckCompleted{VerificationID: verificationID, Vendor: vendor, Source: vendor, Check: check, Result: result,
			VendorCheck: string(check), OccurredAt: now, ReceivedAt: now, Raw: idv.RawRef{Stream: bus.StreamRaw, Seq: 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = idv.CheckSubject(vendor, check)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.b.PublishEvents(ctx, []*nats.Msg{m}); err != nil {
		t.Fatal(err)
	}
	return id
}

// request is one request a receiver got.
type request struct {
	at       time.Time
	header   http.Header
	body     []byte
	verified error // the reference library's verdict
	status   int   // what the receiver answered; 0 while it has not
}

// receiver is a subscriber's endpoint: it verifies each request with the
// Standard Webhooks reference library and answers what answer says.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	mu     sync.Mutex
	reqs   []request
	answer func(n int, r *http.Request) int // n counts requests from 1
	// respond, when set, replaces answer: it may set response headers
	// (Retry-After, Location) or block (see hang) before returning the status.
	respond func(n int, w http.ResponseWriter, r *http.Request) int
	done    chan struct{} // closed when the test ends, before the server closes
}

func newReceiver(t *testing.T, secret string, answer func(n int, r *http.Request) int) *receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, wh: wh, answer: answer, done: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	// Runs before the server's Close, which waits for handlers that block.
	t.Cleanup(func() { close(rc.done) })
	return rc
}

// newResponder is newReceiver with a respond function, which can set
// headers (Retry-After, Location) before its status is written.
func newResponder(t *testing.T, secret string, respond func(n int, w http.ResponseWriter, r *http.Request) int) *receiver {
	t.Helper()
	rc := newReceiver(t, secret, nil)
	rc.respond = respond
	return rc
}

// hang blocks until the client gives up on r (its timeout) or the test
// ends.
func (rc *receiver) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-rc.done:
	}
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{at: time.Now(), header: r.Header.Clone(), body: body, verified: rc.wh.Verify(body, r.Header)})
	n := len(rc.reqs)
	rc.mu.Unlock()
	status := http.StatusNoContent
	switch {
	case rc.respond != nil:
		status = rc.respond(n, w, r)
	case rc.answer != nil:
		status = rc.answer(n, r)
	}
	rc.mu.Lock()
	rc.reqs[n-1].status = status
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// ids returns the webhook-id of every request, in arrival order.
func (rc *receiver) ids() []string {
	var out []string
	for _, r := range rc.requests() {
		out = append(out, r.header.Get("webhook-id"))
	}
	return out
}

// dlq returns the dead letters of the notify stage for a subscriber.
func (s *stack) dlq(t *testing.T, subscriber string) []*jetstream.RawStreamMsg {
	t.Helper()
	var out []*jetstream.RawStreamMsg
	for _, m := range natstest.ReadStream(t, s.srv.URL(), bus.StreamDLQ) {
		if m.Subject == bus.DLQSubject(bus.StageNotify, subscriber) {
			out = append(out, m)
		}
	}
	return out
}

// pending returns the subscriber consumer's undelivered and unacked counts.
func (s *stack) pending(t *testing.T, subscriber string) (uint64, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, ap, err := s.b.ConsumerPending(ctx, bus.StreamEvents, notify.Durable(subscriber))
	if err != nil {
		t.Fatal(err)
	}
	return p, ap
}

// settled reports whether the subscriber has nothing left to deliver.
func (s *stack) settled(t *testing.T, subscriber string) bool {
	p, ap := s.pending(t, subscriber)
	return p == 0 && ap == 0
}

// attempts returns idvbus_notifier_attempts_total{subscriber, outcome}.
func (r *running) attempts(subscriber, outcome string) float64 {
	return testutil.ToFloat64(r.metrics.Attempts().WithLabelValues(subscriber, outcome))
}

// deadLetters returns idvbus_notifier_dead_letters_total{subscriber, reason}.
func (r *running) deadLetters(subscriber, reason string) float64 {
	return testutil.ToFloat64(r.metrics.DeadLetters().WithLabelValues(subscriber, reason))
}

// postponed returns idvbus_notifier_postponed_total{subscriber, reason}.
func (r *running) postponed(subscriber, reason string) float64 {
	return testutil.ToFloat64(r.metrics.Postponed().WithLabelValues(subscriber, reason))
}

// gauge returns the value of the gauge name{subscriber} as the registry
// exposes it; it fails the test when there is no such series.
func (r *running) gauge(t *testing.T, name, subscriber string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "subscriber" && l.GetValue() == subscriber {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{subscriber=%q}", name, subscriber)
	return 0
}

// circuit is idvbus_notifier_circuit_state of a subscriber: 0 closed,
// 1 half-open, 2 open.
func (r *running) circuit(t *testing.T, subscriber string) float64 {
	t.Helper()
	return r.gauge(t, "idvbus_notifier_circuit_state", subscriber)
}

// event returns the IDV_EVENTS message of the event with CloudEvent id id.
func (s *stack) event(t *testing.T, id string) *jetstream.RawStreamMsg {
	t.Helper()
	for _, m := range natstest.ReadStream(t, s.srv.URL(), bus.StreamEvents) {
		if m.Header.Get("ce-id") == id {
			return m
		}
	}
	t.Fatalf("event %s not in %s", id, bus.StreamEvents)
	return nil
}

// recordedAttempts returns the failed attempts IDV_DELIVERIES holds for the
// event at seq (0 without a record).
func (s *stack) recordedAttempts(t *testing.T, subscriber string, seq uint64) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, err := s.b.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Get(ctx, bus.DeliveryKey(subscriber, seq))
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		return 0
	}
	var rec struct {
		Attempts int `json:"attempts"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Attempts
}

// waitSettled waits until the subscriber's consumer has nothing left. The
// consumer learns of a stored event asynchronously, so call it only once
// the events were seen to be handled (a request, a dead letter).
func (s *stack) waitSettled(t *testing.T, subscriber string) {
	t.Helper()
	natstest.Eventually(t, 15*time.Second, subscriber+" settled", func() bool { return s.settled(t, subscriber) })
}

// checkDeadLetter checks what a dead letter of the notify stage must carry
// for the event with id: the event's body and ce-* headers unchanged, where
// it came from, and the attempt count and last status given.
func (s *stack) checkDeadLetter(t *testing.T, d *jetstream.RawStreamMsg, id string, attempts int, lastStatus int) {
	t.Helper()
	ev := s.event(t, id)
	if !bytes.Equal(d.Data, ev.Data) {
		t.Errorf("dead letter body differs from the event's:\n got %s\nwant %s", d.Data, ev.Data)
	}
	for k, v := range ev.Header {
		if strings.HasPrefix(k, "ce-") && !slices.Equal(d.Header[k], v) {
			t.Errorf("dead letter header %s = %q, want the event's %q", k, d.Header[k], v)
		}
	}
	want := map[string]string{
		bus.HeaderStage:           bus.StageNotify,
		bus.HeaderOriginalSubject: ev.Subject,
		bus.HeaderOriginalSeq:     strconv.FormatUint(ev.Sequence, 10),
		bus.HeaderAttempts:        strconv.Itoa(attempts),
		notify.HeaderLastStatus:   "",
	}
	if lastStatus != 0 {
		want[notify.HeaderLastStatus] = strconv.Itoa(lastStatus)
	}
	for k, v := range want {
		if got := d.Header.Get(k); got != v {
			t.Errorf("dead letter %s = %q, want %q", k, got, v)
		}
	}
	if d.Header.Get(bus.HeaderError) == "" {
		t.Error("dead letter without Idv-Error")
	}
}
