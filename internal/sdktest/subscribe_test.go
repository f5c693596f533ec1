package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

// TestTypedHandlers: each handler receives its event's decoded data and
// metadata, and returning nil acks the event.
func TestTypedHandlers(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "typed", DeliverAll: true,
		Filter: idv.Filter{Types: []idv.EventType{idv.TypeVerificationUpdated, idv.TypeCheckCompleted}}})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	sub.OnCheckCompleted(func(_ context.Context, ev subscribe.Event, d idv.CheckCompleted) error {
		r.check(ev, d)
		return nil
	})
	upd := update("persona", "inq_1", idv.StatusApproved, 3)
	upd.PreviousStatus = idv.StatusNeedsReview
	chk := idv.CheckCompleted{VerificationID: "inq_1", Vendor: "persona", Source: "persona", ReferenceID: "user-42",
		Check: idv.CheckSelfie, Result: idv.Result("passed"), VendorCheck: "verification/selfie", VendorResult: "passed",
		OccurredAt: at, ReceivedAt: at, Raw: idv.RawRef{Stream: bus.StreamRaw, Seq: 9}}
	s.publish(t, updateMsg(t, upd), checkMsg(t, chk))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "both events handled and acked", func() bool {
		n, _ := r.counts()
		return n == 2 && s.settled(t, "typed")
	})
	floor, err := s.b.AckFloor(context.Background(), bus.StreamEvents, "typed")
	if err != nil || floor != 2 {
		t.Fatalf("ack floor %d (%v), want 2", floor, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !reflect.DeepEqual(r.updates, []idv.VerificationUpdated{upd}) || !reflect.DeepEqual(r.checks, []idv.CheckCompleted{chk}) {
		t.Fatalf("handlers got\n%+v\n%+v", r.updates, r.checks)
	}
	ev := r.events[0]
	if ev.StoredAt.IsZero() {
		t.Fatal("StoredAt is not set")
	}
	ev.StoredAt = time.Time{}
	want := subscribe.Event{ID: "persona:inq_1:status:3", Type: idv.TypeVerificationUpdated, Source: "/sources/persona",
		Subject: "inq_1", Vendor: "persona", Time: at, StreamSeq: 1, NumDelivered: 1}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("event\n%+v\nwant\n%+v", ev, want)
	}
	if ev := r.events[1]; ev.Type != idv.TypeCheckCompleted || ev.StreamSeq != 2 || ev.ID != "persona:inq_1:selfie:1" {
		t.Fatalf("check event %+v", ev)
	}
}

// TestErrorRetriedAfterBackoff: a handler error leaves the event
// unacknowledged; it comes back after the backoff as delivery 2, and is
// acked once the handler succeeds.
func TestErrorRetriedAfterBackoff(t *testing.T) {
	const backoff = 300 * time.Millisecond
	s := newStack(t)
	var mu sync.Mutex
	var calls []time.Time
	var deliveries []uint64
	sub := s.subscriber(t, subscribe.Options{Durable: "retry", DeliverAll: true, Backoff: []time.Duration{backoff}})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, _ idv.VerificationUpdated) error {
		mu.Lock()
		defer mu.Unlock()
		calls, deliveries = append(calls, time.Now()), append(deliveries, ev.NumDelivered)
		if len(calls) == 1 {
			return errors.New("database unavailable")
		}
		return nil
	})
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "the retry acked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == 2 && s.settled(t, "retry")
	})
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(deliveries, []uint64{1, 2}) {
		t.Fatalf("NumDelivered of each call %v, want [1 2]", deliveries)
	}
	if gap := calls[1].Sub(calls[0]); gap < backoff {
		t.Fatalf("retried after %s, before the %s backoff", gap, backoff)
	}
}

// TestFilter: the consumer receives only the events its filter chooses.
func TestFilter(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "filtered", DeliverAll: true,
		Filter: idv.Filter{Vendors: []string{"persona"}, Statuses: []idv.Status{"approved"}}})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	s.publish(t,
		updateMsg(t, update("persona", "inq_1", idv.StatusDeclined, 1)),
		updateMsg(t, update("incode", "inc_1", idv.StatusApproved, 1)),
		updateMsg(t, update("persona", "inq_2", idv.StatusApproved, 1)))
	run(t, sub)
	// The chosen event is the last stored: once it is handled, any other
	// one would have been handed out before it.
	natstest.Eventually(t, 10*time.Second, "the approved persona event handled", func() bool {
		n, _ := r.counts()
		return n >= 1 && s.settled(t, "filtered")
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.updates) != 1 || r.updates[0].VerificationID != "inq_2" {
		t.Fatalf("handled %+v, want only persona inq_2 approved", r.updates)
	}
}

// TestMaxDeliveries: an event whose handler keeps failing is terminated
// after MaxDeliveries, and OnGiveUp says why.
func TestMaxDeliveries(t *testing.T) {
	s := newStack(t)
	var r recorder
	var calls atomic.Int64
	errDown := errors.New("billing is down")
	sub := s.subscriber(t, subscribe.Options{Durable: "maxdel", DeliverAll: true, MaxDeliveries: 3,
		Backoff: []time.Duration{20 * time.Millisecond}, OnGiveUp: r.onGiveUp})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error {
		calls.Add(1)
		return errDown
	})
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "the event given up", func() bool {
		_, g := r.counts()
		return g == 1 && s.settled(t, "maxdel")
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gaveUp[0]
	if !errors.Is(g.err, subscribe.ErrMaxDeliveries) || !errors.Is(g.err, errDown) {
		t.Fatalf("OnGiveUp error %v, want ErrMaxDeliveries wrapping the handler's", g.err)
	}
	if g.ev.NumDelivered != 3 || g.ev.ID != "persona:inq_1:status:1" || calls.Load() != 3 {
		t.Fatalf("gave up %+v after %d calls, want delivery 3 of persona:inq_1:status:1 after 3", g.ev, calls.Load())
	}
}

// TestPermanent: a handler returning Permanent gives its event up at once.
func TestPermanent(t *testing.T) {
	s := newStack(t)
	var r recorder
	var calls atomic.Int64
	errUnknown := errors.New("no such account")
	sub := s.subscriber(t, subscribe.Options{Durable: "permanent", DeliverAll: true, OnGiveUp: r.onGiveUp})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error {
		calls.Add(1)
		return subscribe.Permanent(errUnknown)
	})
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "the event given up", func() bool {
		_, g := r.counts()
		return g == 1 && s.settled(t, "permanent")
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.gaveUp[0].err; !errors.Is(err, errUnknown) || !subscribe.IsPermanent(err) || calls.Load() != 1 {
		t.Fatalf("gave up with %v after %d calls", err, calls.Load())
	}
}

// TestInvalidEvents: a message that is not a CloudEvent, or whose data does
// not decode, never reaches a handler: it is terminated and reported, and
// the events after it are handled.
func TestInvalidEvents(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "invalid", DeliverAll: true, OnGiveUp: r.onGiveUp})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	subject := idv.VerificationSubject("persona", idv.StatusApproved)
	notCE := &nats.Msg{Subject: subject, Data: []byte(`{"hello":"world"}`)}
	badData, err := events.EncodeNATS(idv.TypeVerificationUpdated, meta("persona", "inq_1", "status", 1), []byte(`{"revision":"x"`))
	if err != nil {
		t.Fatal(err)
	}
	badData.Subject = subject
	s.publish(t, notCE, badData, updateMsg(t, update("persona", "inq_2", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "two given up, one handled", func() bool {
		n, g := r.counts()
		return n == 1 && g == 2 && s.settled(t, "invalid")
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	first, second := r.gaveUp[0], r.gaveUp[1]
	if first.ev.StreamSeq != 1 || !errors.Is(first.err, subscribe.ErrInvalidEvent) || !errors.Is(first.err, idv.ErrNotCloudEvent) {
		t.Fatalf("not a CloudEvent: gave up %+v with %v", first.ev, first.err)
	}
	if second.ev.StreamSeq != 2 || second.ev.ID != "persona:inq_1:status:1" || !errors.Is(second.err, subscribe.ErrInvalidEvent) {
		t.Fatalf("undecodable data: gave up %+v with %v", second.ev, second.err)
	}
	if first.ev.NumDelivered != 1 || second.ev.NumDelivered != 1 {
		t.Fatal("an invalid event was retried")
	}
}

// TestPanicRetried: a panicking handler does not take the process down; the
// event is retried like after an error.
func TestPanicRetried(t *testing.T) {
	s := newStack(t)
	var r recorder
	var calls atomic.Int64
	sub := s.subscriber(t, subscribe.Options{Durable: "panic", DeliverAll: true,
		Backoff: []time.Duration{20 * time.Millisecond}, OnGiveUp: r.onGiveUp})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error {
		if calls.Add(1) == 1 {
			panic("handler bug") // as a nil map write or a bad index would
		}
		return nil
	})
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "the retry acked", func() bool { return calls.Load() == 2 && s.settled(t, "panic") })
	if _, g := r.counts(); g != 0 {
		t.Fatalf("%d events given up after a panic, want 0 (retried)", g)
	}
}

// TestUnknownTypeAcked: an event of a type without a handler (here one the
// code does not know) is acked and skipped, not retried or given up.
func TestUnknownTypeAcked(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "unknown", DeliverAll: true, OnGiveUp: r.onGiveUp})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	future, err := events.EncodeNATS("io.idvbus.verification.updated.v2", meta("persona", "inq_1", "v2", 1), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	future.Subject = idv.VerificationSubject("persona", idv.StatusApproved)
	s.publish(t, future, updateMsg(t, update("persona", "inq_2", idv.StatusApproved, 1)))
	run(t, sub)
	natstest.Eventually(t, 10*time.Second, "both settled", func() bool {
		n, _ := r.counts()
		return n == 1 && s.settled(t, "unknown")
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.gaveUp) != 0 || r.events[0].StreamSeq != 2 {
		t.Fatalf("gave up %v; handled %+v", r.gaveUp, r.events)
	}
}

// TestOrderPerVerification: with several events in parallel, the events of
// one verification are still handled one at a time, in stream order.
func TestOrderPerVerification(t *testing.T) {
	const verifications, revisions = 25, 6
	s := newStack(t)
	var mu sync.Mutex
	last := map[string]uint64{}
	busy := map[string]bool{}
	var active, peak, handled atomic.Int64
	sub := s.subscriber(t, subscribe.Options{Durable: "ordered", DeliverAll: true, Concurrency: 4})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		a := active.Add(1)
		defer active.Add(-1)
		for p := peak.Load(); a > p && !peak.CompareAndSwap(p, a); p = peak.Load() {
		}
		mu.Lock()
		if busy[ev.Subject] {
			t.Errorf("%s: two events at once", ev.Subject)
		}
		if d.Revision != last[ev.Subject]+1 {
			t.Errorf("%s: revision %d after %d", ev.Subject, d.Revision, last[ev.Subject])
		}
		busy[ev.Subject], last[ev.Subject] = true, d.Revision
		mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond) // provoke interleavings
		mu.Lock()
		busy[ev.Subject] = false
		mu.Unlock()
		handled.Add(1)
		return nil
	})
	var msgs []*nats.Msg
	for rev := uint64(1); rev <= revisions; rev++ {
		for v := range verifications {
			msgs = append(msgs, updateMsg(t, update("persona", fmt.Sprintf("inq_%d", v), idv.StatusApproved, rev)))
		}
	}
	s.publish(t, msgs...)
	run(t, sub)
	natstest.Eventually(t, 20*time.Second, "every event handled", func() bool {
		return handled.Load() == verifications*revisions && s.settled(t, "ordered")
	})
	if p := peak.Load(); p < 2 || p > 4 {
		t.Fatalf("at most %d handlers at once, want 2 to 4", p)
	}
}

// TestSharedDurable: two processes with the same Durable share its events;
// each event is handled once.
func TestSharedDurable(t *testing.T) {
	s := newStack(t)
	var mu sync.Mutex
	seen := map[string]int{}
	by := [2]int{}
	for i := range 2 {
		sub := s.subscriber(t, subscribe.Options{Durable: "shared", DeliverAll: true, Concurrency: 2})
		sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, _ idv.VerificationUpdated) error {
			time.Sleep(time.Millisecond) // some work, so the other process gets its share
			mu.Lock()
			defer mu.Unlock()
			seen[ev.ID]++
			by[i]++
			return nil
		})
		run(t, sub)
	}
	s.waitConsumer(t, "shared")
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return by[0] > 0 && by[1] > 0
	}
	total := 0
	for total < 2000 && !both() {
		var msgs []*nats.Msg
		for range 50 {
			total++
			msgs = append(msgs, updateMsg(t, update("persona", fmt.Sprintf("inq_%d", total), idv.StatusApproved, 1)))
		}
		s.publish(t, msgs...)
		natstest.Eventually(t, 10*time.Second, "the batch handled", func() bool { return s.settled(t, "shared") })
	}
	mu.Lock()
	defer mu.Unlock()
	if by[0] == 0 || by[1] == 0 {
		t.Fatalf("one process handled everything: %v", by)
	}
	if len(seen) != total {
		t.Fatalf("%d distinct events handled, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s handled %d times", id, n)
		}
	}
}
