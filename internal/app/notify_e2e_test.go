package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// subscriberSecret is a receiving service's Standard Webhooks secret (32 bytes).
var subscriberSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("e2e-subscriber-secret-0123456789"))

// personaDecision is a signed-by-the-test Persona webhook: event eventID
// moves inquiry inquiryID to status (approved, declined, ...).
func personaDecision(eventID, inquiryID, status string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.%s","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":%q,"attributes":{"status":%q,"reference-id":"user-1"}}}}}}`,
		eventID, status, inquiryID, status))
}

// hook is what a receiving service got: one request, verified with the
// Standard Webhooks reference library.
type hook struct {
	id    string
	event struct {
		ID, Type, Subject string
		Data              idv.VerificationUpdated
	}
	verified error
}

// service is a receiving service: it verifies our signature as the README
// tells users to, and answers with what answer returns.
type receiver struct {
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	mu     sync.Mutex
	hooks  []hook
	answer func(n int) int // n counts requests from 1
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(subscriberSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &receiver{wh: wh, answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hook{id: r.Header.Get("webhook-id"), verified: s.wh.Verify(body, r.Header)}
		_ = json.Unmarshal(body, &h.event)
		s.mu.Lock()
		s.hooks = append(s.hooks, h)
		n := len(s.hooks)
		s.mu.Unlock()
		code := http.StatusOK
		if s.answer != nil {
			code = s.answer(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *receiver) got() []hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hook(nil), s.hooks...)
}

// distinct returns the distinct webhook-ids received, sorted.
func (s *receiver) distinct() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range s.got() {
		if !seen[h.id] {
			seen[h.id] = true
			out = append(out, h.id)
		}
	}
	sort.Strings(out)
	return out
}

func testSubscriber(url string) config.Subscriber {
	return config.Subscriber{Name: "onboarding", URL: url, Secrets: []string{subscriberSecret}}
}

// TestAllInOneDeliversSignedDecision is the notifier's promise end to end on
// the all-in-one: a vendor's signed webhook becomes a CloudEvent that the
// subscriber receives once, signed so that the Standard Webhooks reference
// library verifies it; a status that is not a decision is not sent.
func TestAllInOneDeliversSignedDecision(t *testing.T) {
	rcv := newReceiver(t, nil)
	cfg := config.Development()
	cfg.NATS.Embedded.StoreDir = t.TempDir()
	cfg.NATS.Embedded.Listen = freeAddr(t)
	cfg.NATS.Embedded.MonitorListen = ""
	cfg.Subscribers = []config.Subscriber{testSubscriber(rcv.srv.URL)}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))

	for _, b := range [][]byte{
		personaDecision("evt_started", "inq_e2e", "started"), // in_progress: not a decision
		personaDecision("evt_approved", "inq_e2e", "approved"),
	} {
		if code, status := sendPersona(t, http.DefaultClient, base, b); code != 200 || status != "accepted" {
			t.Fatalf("POST: %d %s", code, status)
		}
	}
	natstest.Eventually(t, 15*time.Second, "a delivery", func() bool { return len(rcv.got()) >= 1 })
	url := "nats://" + cfg.NATS.Embedded.Listen
	natstest.Eventually(t, 15*time.Second, "both events normalized", func() bool {
		return len(natstest.ReadStream(t, url, bus.StreamEvents)) == 2
	})
	// The in_progress event is in IDV_EVENTS, but the subscriber's filter
	// (the decisions) leaves it out: wait until the consumer settled.
	natstest.Eventually(t, 15*time.Second, "the subscriber's consumer settled", func() bool {
		return consumerSettled(t, url, "notify-onboarding")
	})
	got := rcv.got()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1 (the approval only)", len(got))
	}
	h := got[0]
	if h.verified != nil {
		t.Fatalf("the reference library rejects our signature: %v", h.verified)
	}
	if h.event.Type != string(idv.TypeVerificationUpdated) || h.event.Subject != "inq_e2e" || h.event.ID != h.id ||
		h.event.Data.Status != idv.StatusApproved || h.event.Data.ReferenceID != "user-1" {
		t.Fatalf("delivered %+v", h)
	}
}

// consumerSettled reports whether a durable consumer of IDV_EVENTS has
// nothing pending and nothing unacknowledged.
func consumerSettled(t *testing.T, url, durable string) bool {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		return false
	}
	defer nc.Close()
	b, err := bus.New(nc, config.Default().JetStream, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, ap, err := b.ConsumerPending(ctx, bus.StreamEvents, durable)
	return err == nil && p == 0 && ap == 0
}

// service is one service process (normalizer, notifier) on s's JetStream,
// with its own connection and ops listener.
type service struct {
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error // what the service returned, once stopped
}

// stop stops the service and waits for it; safe to call twice.
func (p *service) stop() {
	p.once.Do(func() { p.cancel(); p.err = <-p.done; p.nc.Close() })
}

// runService starts run (app.Normalizer, app.Notifier) with cfg and waits
// until its /readyz answers 200; it is stopped on cleanup.
func (s *stack) runService(t *testing.T, cfg config.Config, run func(context.Context, config.Config, *nats.Conn, app.Listeners, *zap.Logger) error) *service {
	t.Helper()
	nc, err := nats.Connect(s.js.URL())
	if err != nil {
		t.Fatal(err)
	}
	ls, _, ops := loopbackListeners(t)
	ls.Webhooks.Close() // neither has a webhook port
	ctx, cancel := context.WithCancel(context.Background())
	p := &service{nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, cfg, nc, ls, zaptest.NewLogger(t)) }()
	t.Cleanup(p.stop)
	waitReady(t, ops, 10*time.Second)
	return p
}

func (s *stack) runNormalizer(t *testing.T) { s.runService(t, s.cfg, app.Normalizer) }

func (s *stack) runNotifier(t *testing.T, cfg config.Config) *service {
	return s.runService(t, cfg, app.Notifier)
}

// notifierConfig is s's config with one subscriber and test-sized timings.
func notifierConfig(t *testing.T, s *stack, sub config.Subscriber) config.Config {
	t.Helper()
	cfg := s.cfg
	cfg.Notifier.AckWait = 2 * time.Second
	cfg.Notifier.ShutdownTimeout = time.Second
	cfg.Subscribers = []config.Subscriber{sub}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sendDecisions posts n Persona approvals of n verifications and returns
// how many were accepted.
func (s *stack) sendDecisions(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		body := personaDecision(fmt.Sprintf("evt_%s_%d", prefix, i), fmt.Sprintf("inq_%s_%d", prefix, i), "approved")
		if r := s.post("persona", body, personaHeader(body, time.Now())); r.code != 200 {
			t.Fatalf("POST %d: %d", i, r.code)
		}
	}
}

// TestNotifierKilledMidDeliveryRedelivers: a notifier dies while its
// request is in flight; a new notifier delivers that event again with the
// same webhook-id, and every other event too: none is lost.
func TestNotifierKilledMidDeliveryRedelivers(t *testing.T) {
	s := startStack(t)
	s.runNormalizer(t)
	release := make(chan struct{})
	var once sync.Once
	inFlight := make(chan struct{})
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			once.Do(func() { close(inFlight) })
			<-release // the first request hangs until the notifier is dead
		}
		return http.StatusOK
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	sub := testSubscriber(rcv.srv.URL)
	sub.Timeout = 30 * time.Second
	sub.Start = "all"
	cfg := notifierConfig(t, s, sub)

	a := s.runNotifier(t, cfg)
	s.sendDecisions(t, "kill", 5)
	select {
	case <-inFlight:
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery started")
	}
	// A crash: the connection drops with the request in flight; nothing is
	// acked or nak'ed.
	a.nc.Close()
	first := rcv.got()[0].id
	close(release)
	a.stop()

	s.runNotifier(t, cfg)
	natstest.Eventually(t, 20*time.Second, "every event delivered", func() bool { return len(rcv.distinct()) == 5 })
	natstest.Eventually(t, 20*time.Second, "the consumer settled", func() bool {
		return consumerSettled(t, s.js.URL(), "notify-onboarding")
	})
	again := 0
	for _, h := range rcv.got() {
		if h.verified != nil {
			t.Fatalf("signature: %v", h.verified)
		}
		if h.id == first {
			again++
		}
	}
	if again < 2 {
		t.Fatalf("the event in flight at the crash (%s) was delivered %d times, want it again after the restart", first, again)
	}
	if dl := natstest.ReadStream(t, s.js.URL(), bus.StreamDLQ); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}

// TestSubscriberDownReceivesEverythingAfter: while the subscriber answers
// 503 (and then refuses connections), events wait: the circuit opens instead
// of using up their attempts; once it is back, it receives every event.
func TestSubscriberDownReceivesEverythingAfter(t *testing.T) {
	s := startStack(t)
	s.runNormalizer(t)
	var mu sync.Mutex
	up := false
	rcv := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	sub := testSubscriber(rcv.srv.URL)
	sub.Start = "all"
	sub.Retry = config.Retry{Schedule: []time.Duration{200 * time.Millisecond, 500 * time.Millisecond}, MaxAttempts: 10, MaxAge: time.Hour}
	sub.Breaker = config.CircuitBreaker{Failures: 3, Cooldown: 500 * time.Millisecond}
	s.runNotifier(t, notifierConfig(t, s, sub))

	s.sendDecisions(t, "down", 10)
	natstest.Eventually(t, 15*time.Second, "failed attempts", func() bool { return len(rcv.got()) >= 3 })
	// Down for a while: several cooldowns.
	time.Sleep(2 * time.Second)
	whileDown := len(rcv.got())
	mu.Lock()
	up = true
	mu.Unlock()

	natstest.Eventually(t, 30*time.Second, "every event delivered", func() bool { return len(rcv.distinct()) == 10 })
	natstest.Eventually(t, 20*time.Second, "the consumer settled", func() bool {
		return consumerSettled(t, s.js.URL(), "notify-onboarding")
	})
	if dl := natstest.ReadStream(t, s.js.URL(), bus.StreamDLQ); len(dl) != 0 {
		t.Fatalf("%d dead letters, want none: the subscriber came back within the limits", len(dl))
	}
	// 10 events × 10 attempts would be 100 requests while down; the open
	// circuit let through only probes.
	if whileDown > 20 {
		t.Fatalf("%d requests while the subscriber was down: attempts were burned instead of paused", whileDown)
	}
	t.Logf("%d requests while down, %d in all", whileDown, len(rcv.got()))
}
