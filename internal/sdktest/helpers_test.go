package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

// stack is an in-process JetStream with idvbus's topology, as the idvbus
// services would have set it up.
type stack struct {
	srv *natstest.Server
	b   *bus.Bus
}

func newStack(t *testing.T) *stack {
	t.Helper()
	srv := natstest.RunJS(t)
	return &stack{srv: srv, b: srv.Bus(t, config.Default().JetStream)}
}

// subscriber builds a Subscriber on its own connection, as a separate
// service would. o.Logger defaults to the test's log.
func (s *stack) subscriber(t *testing.T, o subscribe.Options, opts ...nats.Option) *subscribe.Subscriber {
	t.Helper()
	return newSubscriber(t, s.srv.Connect(t, opts...), o)
}

// newSubscriber builds a Subscriber on nc's JetStream.
func newSubscriber(t *testing.T, nc *nats.Conn, o subscribe.Options) *subscribe.Subscriber {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := subscribe.New(js, o)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// testLogger writes to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// run runs sub until the returned stop is called (or the test ends); stop
// waits for Run to return and reports its error.
func run(t *testing.T, sub *subscribe.Subscriber) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// publish stores events in IDV_EVENTS as the normalizer does.
func (s *stack) publish(t *testing.T, msgs ...*nats.Msg) {
	t.Helper()
	if _, err := s.b.PublishEvents(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// settled reports whether the durable consumer has delivered every event it
// chooses and none waits for an ack (or a retry). A consumer created a
// moment ago may report nothing pending before it has its start position:
// wait for what was handled as well.
func (s *stack) settled(t *testing.T, durable string) bool {
	t.Helper()
	pending, ackPending, err := s.b.ConsumerPending(context.Background(), bus.StreamEvents, durable)
	return err == nil && pending == 0 && ackPending == 0
}

// waitConsumer waits until Run has created the durable consumer.
func (s *stack) waitConsumer(t *testing.T, durable string) {
	t.Helper()
	natstest.Eventually(t, 10*time.Second, "consumer "+durable, func() bool {
		_, _, err := s.b.ConsumerPending(context.Background(), bus.StreamEvents, durable)
		return err == nil
	})
}

var at = time.Date(2026, 3, 15, 18, 35, 1, 100_000_000, time.UTC)

// update is a verification.updated event of revision rev.
func update(vendor, verification string, status idv.Status, rev uint64) idv.VerificationUpdated {
	return idv.VerificationUpdated{
		VerificationID: verification, Vendor: vendor, Source: vendor, ReferenceID: "user-" + verification,
		Status: status, Terminal: status.Terminal(), DecidedBy: idv.DecidedByVendor, Revision: rev,
		VendorEvent: "inquiry." + string(status), OccurredAt: at, ReceivedAt: at.Add(time.Second),
		Raw: idv.RawRef{Stream: bus.StreamRaw, Seq: rev},
	}
}

func meta(vendor, verification, kind string, n uint64) events.Meta {
	return events.Meta{ID: fmt.Sprintf("%s:%s:%s:%d", vendor, verification, kind, n), Source: vendor,
		Vendor: vendor, Subject: verification, Time: at}
}

// updateMsg encodes d as the normalizer stores it.
func updateMsg(t *testing.T, d idv.VerificationUpdated) *nats.Msg {
	t.Helper()
	e, err := events.NewVerificationUpdated(meta(d.Vendor, d.VerificationID, "status", d.Revision), d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = idv.VerificationSubject(d.Vendor, d.Status)
	return m
}

func checkMsg(t *testing.T, d idv.CheckCompleted) *nats.Msg {
	t.Helper()
	e, err := events.NewCheckCompleted(meta(d.Vendor, d.VerificationID, string(d.Check), 1), d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = idv.CheckSubject(d.Vendor, d.Check)
	return m
}

// recorder collects what handlers and OnGiveUp saw.
type recorder struct {
	mu      sync.Mutex
	events  []subscribe.Event
	updates []idv.VerificationUpdated
	checks  []idv.CheckCompleted
	gaveUp  []gaveUp
}

type gaveUp struct {
	ev  subscribe.Event
	err error
}

func (r *recorder) update(ev subscribe.Event, d idv.VerificationUpdated) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.updates = append(r.events, ev), append(r.updates, d)
}

func (r *recorder) check(ev subscribe.Event, d idv.CheckCompleted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.checks = append(r.events, ev), append(r.checks, d)
}

func (r *recorder) onGiveUp(ev subscribe.Event, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaveUp = append(r.gaveUp, gaveUp{ev, err})
}

func (r *recorder) counts() (events, gaveUp int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events), len(r.gaveUp)
}

// jetstreamOf is the test's own JetStream view, to act as an operator would.
func jetstreamOf(s *stack) (jetstream.JetStream, error) { return jetstream.New(s.b.Conn()) }
