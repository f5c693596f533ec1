package normalize_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
	"github.com/idvbus/idvbus/schemas"
	"github.com/idvbus/idvbus/sdk/idv"
)

// stack is an in-process JetStream with idvbus's topology.
type stack struct {
	srv *natstest.Server
	cfg config.Config
}

func newStack(t *testing.T) *stack {
	t.Helper()
	srv := natstest.RunJS(t)
	cfg := config.Default()
	cfg.Sources = []config.Source{
		{Name: "persona", Vendor: "persona", DecisionPolicy: "vendor"},
		{Name: "incode", Vendor: "incode", DecisionPolicy: "vendor"},
		{Name: "sumsub", Vendor: "sumsub", DecisionPolicy: "vendor"},
	}
	cfg.Normalizer.AckWait = time.Second
	cfg.Normalizer.Backoff = []time.Duration{50 * time.Millisecond}
	cfg.Normalizer.MaxDeliveries = 3
	cfg.Normalizer.Workers = 8
	cfg.Normalizer.ShutdownTimeout = 200 * time.Millisecond
	cfg.Normalizer.PinnedTTL = time.Second
	srv.Bus(t, cfg.JetStream)
	return &stack{srv: srv, cfg: cfg}
}

func (s *stack) bus(t *testing.T, nc *nats.Conn) *bus.Bus {
	t.Helper()
	b, err := bus.New(nc, s.cfg.JetStream, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalizer runs a normalizer on its own connection; wrap may replace its
// Bus. The returned stop cancels it and waits for Run to return.
type running struct {
	nc      *nats.Conn
	cancel  context.CancelFunc
	done    chan error
	metrics *normalize.Metrics
}

func (s *stack) run(t *testing.T, wrap func(normalize.Bus) normalize.Bus, store func(normalize.Store) normalize.Store) *running {
	t.Helper()
	nc, err := nats.Connect(s.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b := s.bus(t, nc)
	st, err := b.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var nb normalize.Bus = b
	if wrap != nil {
		nb = wrap(b)
	}
	var ns normalize.Store = st
	if store != nil {
		ns = store(st)
	}
	r := &running{nc: nc, done: make(chan error, 1), metrics: normalize.NewMetrics()}
	n, err := normalize.New(normalize.Options{
		Config: s.cfg.Normalizer, DuplicateWindow: s.cfg.JetStream.DuplicateWindow,
		Sources: s.cfg.Sources, Bus: nb, Store: ns, Log: zaptest.NewLogger(t), Metrics: r.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- n.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- nil
	case <-time.After(20 * time.Second):
		t.Error("normalizer did not stop")
	}
}

// crash kills the normalizer as a process death would: its connection goes
// first, so no ack or nak leaves, then it is stopped.
func (r *running) crash(t *testing.T) {
	r.nc.Close()
	r.stop(t)
}

// publishRaw stores a webhook in IDV_RAW as ingest would.
func (s *stack) publishRaw(t *testing.T, source, vendor, msgID string, body []byte) uint64 {
	t.Helper()
	b := s.bus(t, s.srv.Connect(t))
	st, err := b.PublishRaw(context.Background(), bus.RawMessage{
		Source: source, Vendor: vendor, MsgID: msgID, RequestID: "req-" + msgID,
		ContentType: "application/json", ReceivedAt: time.Now(), Body: body,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st.Seq
}

func (s *stack) events(t *testing.T) []*jetstream.RawStreamMsg {
	return natstest.ReadStream(t, s.srv.URL(), bus.StreamEvents)
}

func (s *stack) waitEvents(t *testing.T, n int) []*jetstream.RawStreamMsg {
	t.Helper()
	var got []*jetstream.RawStreamMsg
	natstest.Eventually(t, 15*time.Second, fmt.Sprintf("%d events", n), func() bool {
		got = s.events(t)
		return len(got) >= n
	})
	return got
}

// decodeUpdate reads a verification.updated event back as a subscriber would
// and validates its data against the JSON Schema.
func decodeUpdate(t *testing.T, m *jetstream.RawStreamMsg) idv.VerificationUpdated {
	t.Helper()
	e, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(e.Type, e.Data); err != nil {
		t.Fatalf("event %s does not match its schema: %v", e.ID, err)
	}
	if m.Header.Get(events.NATSMsgIDHeader) != e.ID {
		t.Fatalf("Nats-Msg-Id %q != ce id %q", m.Header.Get(events.NATSMsgIDHeader), e.ID)
	}
	d, err := idv.DecodeVerificationUpdated(e)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func personaInquiry(evtID, inqID, name, status string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":%q,"created-at":%q,
"payload":{"data":{"type":"inquiry","id":%q,"attributes":{"status":%q,"reference-id":"user-42"}}}}}}`,
		evtID, name, at.UTC().Format(time.RFC3339Nano), inqID, status))
}

// TestNormalizeCrashBetweenPublishAndAck: a normalizer killed after its
// events were stored but before the raw webhook was acked leaves exactly one
// copy of each event once a new normalizer has taken the redelivery.
func TestNormalizeCrashBetweenPublishAndAck(t *testing.T) {
	for _, when := range []string{"after publish", "before publish"} {
		t.Run(when, func(t *testing.T) {
			s := newStack(t)
			crashed := make(chan struct{})
			var once sync.Once
			first := s.run(t, func(b normalize.Bus) normalize.Bus {
				return &crashingBus{Bus: b, after: when == "after publish", crashed: crashed, once: &once}
			}, nil)
			seq := s.publishRaw(t, "persona", "persona", "persona:evt_1",
				personaInquiry("evt_1", "inq_1", "inquiry.approved", "approved", time.Now()))
			select {
			case <-crashed:
			case <-time.After(15 * time.Second):
				t.Fatal("normalizer never reached the publish")
			}
			first.crash(t)
			if when == "before publish" && len(s.events(t)) != 0 {
				t.Fatal("events stored before the crash")
			}
			second := s.run(t, nil, nil)
			s.waitEvents(t, 1)
			// Redelivery comes after the 1 s ack wait; wait until the second
			// normalizer has acked it, then check nothing more arrived.
			natstest.Eventually(t, 15*time.Second, "raw webhook acked", func() bool {
				return counter(second.metrics.Messages(), "persona", normalize.OutcomeDuplicate) == 1
			})
			got := s.events(t)
			if len(got) != 1 {
				t.Fatalf("%d events after the crash, want exactly 1", len(got))
			}
			d := decodeUpdate(t, got[0])
			if d.Status != idv.StatusApproved || d.Revision != 1 || d.Raw.Seq != seq {
				t.Fatalf("event %+v", d)
			}
		})
	}
}

// crashingBus publishes (or not) and then never returns until the process dies.
type crashingBus struct {
	normalize.Bus
	after   bool
	crashed chan struct{}
	once    *sync.Once
}

func (c *crashingBus) PublishEvents(ctx context.Context, msgs []*nats.Msg) (int, error) {
	if c.after {
		if _, err := c.Bus.PublishEvents(ctx, msgs); err != nil {
			return 0, err
		}
	}
	c.once.Do(func() { close(c.crashed) })
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestNormalizeGarbageToDLQ: an authenticated body that does not parse ends
// in IDV_DLQ at once with its reason, original subject and sequence, and the
// body unchanged; a vendor without a normalizer too.
func TestNormalizeGarbageToDLQ(t *testing.T) {
	s := newStack(t)
	r := s.run(t, nil, nil)
	garbage := []byte("this is not json \x00\xff")
	seq := s.publishRaw(t, "persona", "persona", "persona:sha256:x", garbage)
	seq2 := s.publishRaw(t, "sumsub", "sumsub", "sumsub:c1", []byte(`{"type":"applicantReviewed"}`))
	var dl []*jetstream.RawStreamMsg
	natstest.Eventually(t, 15*time.Second, "two dead letters", func() bool {
		dl = natstest.ReadStream(t, s.srv.URL(), bus.StreamDLQ)
		return len(dl) == 2
	})
	if dl[0].Subject != "idv.dlq.normalize.persona" { // two workers: either may finish first
		dl[0], dl[1] = dl[1], dl[0]
	}
	checks := []struct {
		msg     *jetstream.RawStreamMsg
		subject string
		seq     uint64
		reason  string
		body    []byte
	}{
		{dl[0], "idv.dlq.normalize.persona", seq, "invalid payload", garbage},
		{dl[1], "idv.dlq.normalize.sumsub", seq2, "vendor sumsub has no normalizer yet", []byte(`{"type":"applicantReviewed"}`)},
	}
	for _, c := range checks {
		h := c.msg.Header
		if c.msg.Subject != c.subject || string(c.msg.Data) != string(c.body) {
			t.Errorf("dead letter on %s with body %q", c.msg.Subject, c.msg.Data)
		}
		if h.Get(bus.HeaderOriginalSeq) != strconv.FormatUint(c.seq, 10) || h.Get(bus.HeaderStage) != "normalize" ||
			h.Get(bus.HeaderAttempts) != "1" || h.Get(bus.HeaderOriginalSubject) == "" {
			t.Errorf("dead letter headers %v", h)
		}
		if got := h.Get(bus.HeaderError); len(got) < len(c.reason) || got[:len(c.reason)] != c.reason {
			t.Errorf("Idv-Error %q, want prefix %q", got, c.reason)
		}
		if h.Get(bus.HeaderSource) == "" || h.Get(bus.HeaderReceivedAt) == "" {
			t.Errorf("raw headers not kept: %v", h)
		}
	}
	// The dead letter is stored before the handler counts it.
	natstest.Eventually(t, 15*time.Second, "dead_lettered metric 1", func() bool {
		return counter(r.metrics.Messages(), "persona", normalize.OutcomeDeadLettered) == 1
	})
	if len(s.events(t)) != 0 {
		t.Error("garbage produced an event")
	}
}

// TestNormalizeMaxDeliveriesToDLQ: a webhook that keeps failing with a
// retryable error is dead-lettered at max_deliveries, never dropped.
func TestNormalizeMaxDeliveriesToDLQ(t *testing.T) {
	s := newStack(t)
	var gets atomic.Int32
	s.run(t, nil, func(st normalize.Store) normalize.Store { return &failingStore{Store: st, gets: &gets} })
	seq := s.publishRaw(t, "persona", "persona", "persona:evt_9",
		personaInquiry("evt_9", "inq_9", "inquiry.approved", "approved", time.Now()))
	var dl []*jetstream.RawStreamMsg
	natstest.Eventually(t, 15*time.Second, "dead letter", func() bool {
		dl = natstest.ReadStream(t, s.srv.URL(), bus.StreamDLQ)
		return len(dl) == 1
	})
	h := dl[0].Header
	if h.Get(bus.HeaderAttempts) != "3" || h.Get(bus.HeaderOriginalSeq) != strconv.FormatUint(seq, 10) {
		t.Fatalf("headers %v", h)
	}
	if got := h.Get(bus.HeaderError); got != "gave up after 3 deliveries: kv unavailable" {
		t.Fatalf("Idv-Error %q", got)
	}
	if gets.Load() != 3 {
		t.Fatalf("%d attempts, want 3", gets.Load())
	}
}

type failingStore struct {
	normalize.Store
	gets *atomic.Int32
}

func (f *failingStore) Get(context.Context, string) ([]byte, uint64, error) {
	f.gets.Add(1)
	return nil, 0, errors.New("kv unavailable")
}

// TestNormalizeInOrderAcrossWorkers (contract rule 6): webhooks of many
// verifications arriving in order are applied in stream order however many
// workers run: every status is emitted, revisions 1..n in order.
func TestNormalizeInOrderAcrossWorkers(t *testing.T) {
	s := newStack(t)
	s.run(t, nil, nil)
	lifecycle := []struct{ name, status string }{
		{"inquiry.created", "created"}, {"inquiry.started", "pending"}, {"inquiry.completed", "completed"},
		{"inquiry.marked-for-review", "needs_review"}, {"inquiry.approved", "approved"},
	}
	const verifications = 40
	base := time.Now().Add(-time.Hour)
	// Interleave the verifications, each one's events in order.
	for i, step := range lifecycle {
		for v := 0; v < verifications; v++ {
			evt := fmt.Sprintf("evt_%d_%d", v, i)
			s.publishRaw(t, "persona", "persona", "persona:"+evt,
				personaInquiry(evt, fmt.Sprintf("inq_%d", v), step.name, step.status, base.Add(time.Duration(i)*time.Second)))
		}
	}
	got := s.waitEvents(t, verifications*len(lifecycle))
	per := map[string][]idv.VerificationUpdated{}
	for _, m := range got {
		d := decodeUpdate(t, m)
		per[d.VerificationID] = append(per[d.VerificationID], d)
	}
	want := []idv.Status{idv.StatusCreated, idv.StatusInProgress, idv.StatusPassed, idv.StatusNeedsReview, idv.StatusApproved}
	for id, ds := range per {
		if len(ds) != len(want) {
			t.Fatalf("%s: %d events, want %d", id, len(ds), len(want))
		}
		for i, d := range ds {
			if d.Status != want[i] || d.Revision != uint64(i+1) {
				t.Fatalf("%s: event %d is %s rev %d, want %s rev %d", id, i, d.Status, d.Revision, want[i], i+1)
			}
		}
	}
}

func counter(v *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(v.WithLabelValues(labels...))
}
