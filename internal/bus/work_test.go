package bus_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// workStack is a JetStream server with idvbus's topology and one durable
// pull consumer on IDV_EVENTS.
type workStack struct {
	srv *natstest.Server
	b   *bus.Bus
}

const workDurable = "work-test"

func newWorkStack(t *testing.T, ackWait time.Duration) *workStack {
	t.Helper()
	// Registered first, so it runs last: after the server and connections
	// are gone, no goroutine of Work may be left.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := natstest.RunJS(t)
	b := srv.Bus(t, config.Default().JetStream)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.EnsureConsumer(ctx, bus.ConsumerOptions{
		Stream: bus.StreamEvents, Durable: workDurable, FilterSubjects: []string{"idv.events.>"},
		AckWait: ackWait, MaxAckPending: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &workStack{srv: srv, b: b}
}

// publish stores n messages with headers Key (key(i)) and Index (i).
func (s *workStack) publish(t *testing.T, n int, key func(i int) string) {
	t.Helper()
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: "idv.events.test.verification.approved",
			Header: nats.Header{"Key": {key(i)}, "Index": {strconv.Itoa(i)}}, Data: []byte("{}")}
	}
	if _, err := s.b.PublishEvents(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// work runs Puller.Work on its own connection until the returned stop is
// called; stop waits for Work to return and reports its error.
func (s *workStack) work(t *testing.T, o bus.WorkOptions, handle func(context.Context, *bus.Msg)) (stop func() error, done <-chan error) {
	t.Helper()
	b, err := bus.New(s.srv.Connect(t), config.Default().JetStream, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Puller(context.Background(), bus.StreamEvents, workDurable)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- p.Work(ctx, o, handle) }()
	var once sync.Once
	var werr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case werr = <-ch:
			case <-time.After(30 * time.Second):
				werr = fmt.Errorf("Work did not return")
			}
		})
		return werr
	}
	t.Cleanup(func() { _ = stop() })
	return stop, ch
}

// settled reports whether every message was delivered and acked.
func (s *workStack) settled(t *testing.T) bool {
	pending, ackPending, err := s.b.ConsumerPending(context.Background(), bus.StreamEvents, workDurable)
	if err != nil {
		t.Fatal(err)
	}
	return pending == 0 && ackPending == 0
}

func index(m *bus.Msg) int {
	i, _ := strconv.Atoi(m.Header().Get("Index"))
	return i
}

// TestWorkConcurrencyBound: Work never holds more than Concurrency messages:
// while every slot is taken by a blocked handler it pulls nothing more, and
// at no time do more than Concurrency handlers run.
func TestWorkConcurrencyBound(t *testing.T) {
	const n, conc = 30, 3
	s := newWorkStack(t, 30*time.Second)
	s.publish(t, n, func(i int) string { return "k" + strconv.Itoa(i) })

	var active, peak, started, handled atomic.Int64
	release := make(chan struct{})
	stop, _ := s.work(t, bus.WorkOptions{Concurrency: conc, Key: func(m *bus.Msg) string { return m.Header().Get("Key") }},
		func(_ context.Context, m *bus.Msg) {
			a := active.Add(1)
			for p := peak.Load(); a > p && !peak.CompareAndSwap(p, a); p = peak.Load() {
			}
			if started.Add(1) <= conc {
				<-release // the first ones hold every slot
			} else {
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond) // overlap the rest
			}
			active.Add(-1)
			if err := m.Ack(); err != nil {
				t.Error(err)
			}
			handled.Add(1)
		})

	natstest.Eventually(t, 10*time.Second, "every slot taken", func() bool { return active.Load() == conc })
	_, ackPending, err := s.b.ConsumerPending(context.Background(), bus.StreamEvents, workDurable)
	if err != nil {
		t.Fatal(err)
	}
	if ackPending != conc {
		t.Fatalf("%d messages handed out while %d slots are busy, want %d", ackPending, conc, conc)
	}
	close(release)
	natstest.Eventually(t, 20*time.Second, "every message acked", func() bool { return handled.Load() == n && s.settled(t) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != conc {
		t.Fatalf("at most %d handlers at once, want exactly %d", p, conc)
	}
}

// TestWorkSameKeyInOrder: messages with the same key are handled one at a
// time, in the order they were stored, while other keys go on in parallel.
func TestWorkSameKeyInOrder(t *testing.T) {
	const keys, perKey = 3, 15
	s := newWorkStack(t, 30*time.Second)
	s.publish(t, keys*perKey, func(i int) string { return "k" + strconv.Itoa(i%keys) })

	var mu sync.Mutex
	seen := map[string][]int{}
	busy := map[string]bool{}
	var handled atomic.Int64
	stop, _ := s.work(t, bus.WorkOptions{Concurrency: 2 * keys, Key: func(m *bus.Msg) string { return m.Header().Get("Key") }},
		func(_ context.Context, m *bus.Msg) {
			k := m.Header().Get("Key")
			mu.Lock()
			if busy[k] {
				t.Errorf("key %s handled twice at once", k)
			}
			busy[k] = true
			seen[k] = append(seen[k], index(m))
			mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond) // provoke interleavings
			mu.Lock()
			busy[k] = false
			mu.Unlock()
			if err := m.Ack(); err != nil {
				t.Error(err)
			}
			handled.Add(1)
		})
	natstest.Eventually(t, 20*time.Second, "every message acked", func() bool { return handled.Load() == keys*perKey && s.settled(t) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		got := seen["k"+strconv.Itoa(k)]
		if len(got) != perKey {
			t.Fatalf("key k%d: %d messages handled, want %d", k, len(got), perKey)
		}
		for j, i := range got {
			if want := j*keys + k; i != want {
				t.Fatalf("key k%d handled in order %v", k, got)
			}
		}
	}
}

// TestWorkKeepAlive: a handler that takes longer than the consumer's ack
// wait keeps its message: with KeepAlive it is delivered once; without, the
// server delivers it again meanwhile (the control that shows the test can
// fail).
func TestWorkKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepAlive time.Duration
		wantOnce  bool
	}{{"with keepalive", 300 * time.Millisecond, true}, {"without keepalive", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newWorkStack(t, time.Second)
			s.publish(t, 1, func(int) string { return "k" })
			var mu sync.Mutex
			var deliveries []uint64
			var firstDone atomic.Bool
			// Two slots, so a redelivery would be pulled while the first
			// handler still runs.
			stop, _ := s.work(t, bus.WorkOptions{Concurrency: 2, KeepAlive: tc.keepAlive},
				func(_ context.Context, m *bus.Msg) {
					mu.Lock()
					deliveries = append(deliveries, m.NumDelivered)
					first := len(deliveries) == 1
					mu.Unlock()
					if first {
						time.Sleep(2500 * time.Millisecond) // the slow work itself
					}
					if err := m.Ack(); err != nil && first {
						t.Error(err)
					}
					if first {
						firstDone.Store(true)
					}
				})
			natstest.Eventually(t, 15*time.Second, "slow handler done and acked", func() bool { return firstDone.Load() && s.settled(t) })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantOnce && (len(deliveries) != 1 || deliveries[0] != 1) {
				t.Fatalf("deliveries (NumDelivered of each) %v, want [1]", deliveries)
			}
			if !tc.wantOnce && (len(deliveries) < 2 || deliveries[1] != 2) {
				t.Fatalf("deliveries %v: the ack wait passed without a redelivery", deliveries)
			}
		})
	}
}

// TestWorkShutdown: when ctx ends, Work stops pulling, lets the running
// handler finish with a live context, naks the messages that waited behind
// it (another worker gets them at once, long before the ack wait) and only
// then returns.
func TestWorkShutdown(t *testing.T) {
	s := newWorkStack(t, 30*time.Second)
	s.publish(t, 3, func(int) string { return "same" })

	var calls, held atomic.Int64
	running := make(chan struct{})
	release := make(chan struct{})
	handlerCtxErr := make(chan error, 1)
	stop, done := s.work(t, bus.WorkOptions{Concurrency: 3, ShutdownTimeout: 30 * time.Second,
		// Work asks for the key of each message it takes: a count of the
		// messages it holds.
		Key: func(m *bus.Msg) string { held.Add(1); return m.Header().Get("Key") }},
		func(ctx context.Context, m *bus.Msg) {
			if calls.Add(1) > 1 {
				t.Errorf("message %d handled after shutdown", index(m))
				return
			}
			close(running)
			<-release
			handlerCtxErr <- ctx.Err()
			if err := m.Ack(); err != nil {
				t.Error(err)
			}
		})
	<-running
	natstest.Eventually(t, 10*time.Second, "all three held", func() bool { return held.Load() == 3 })

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Work must wait for the running handler; a window for a wrong early
	// return to show.
	select {
	case err := <-done:
		t.Fatalf("Work returned (%v) while a handler was running", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := <-handlerCtxErr; err != nil {
		t.Fatalf("the running handler's context ended before ShutdownTimeout: %v", err)
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("%d handler calls, want 1", c)
	}

	// The two that waited were nak'ed: a new worker gets them now (the ack
	// wait is 30 s), as their second delivery.
	var mu sync.Mutex
	var got []string
	stop2, _ := s.work(t, bus.WorkOptions{Concurrency: 1}, func(_ context.Context, m *bus.Msg) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%d/%d", index(m), m.NumDelivered))
		mu.Unlock()
		_ = m.Ack()
	})
	natstest.Eventually(t, 10*time.Second, "the nak'ed messages redelivered", func() bool { return s.settled(t) })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got) // JetStream does not promise the order of redeliveries
	if fmt.Sprint(got) != "[1/2 2/2]" {
		t.Fatalf("redelivered (index/delivery) %v, want [1/2 2/2]", got)
	}
}

// TestWorkShutdownTimeout: a handler still running ShutdownTimeout after ctx
// ended has its context cancelled, and Work returns once it returned.
func TestWorkShutdownTimeout(t *testing.T) {
	s := newWorkStack(t, 30*time.Second)
	s.publish(t, 1, func(int) string { return "k" })
	running := make(chan struct{})
	stop, _ := s.work(t, bus.WorkOptions{Concurrency: 1, ShutdownTimeout: 100 * time.Millisecond},
		func(ctx context.Context, m *bus.Msg) {
			close(running)
			<-ctx.Done() // only the shutdown timeout ends this
			_ = m.Nak()
		})
	<-running
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkGate: while Gate answers 0, Work pulls nothing and asks again
// after the wait it gave; once it opens, the messages flow.
func TestWorkGate(t *testing.T) {
	const n = 5
	s := newWorkStack(t, 30*time.Second)
	s.publish(t, n, func(i int) string { return "k" + strconv.Itoa(i) })
	var open atomic.Bool
	var asked, handled atomic.Int64
	stop, _ := s.work(t, bus.WorkOptions{Concurrency: 4, Gate: func() (int, time.Duration) {
		asked.Add(1)
		if open.Load() {
			return 10, 0
		}
		return 0, 20 * time.Millisecond
	}}, func(_ context.Context, m *bus.Msg) {
		if !open.Load() {
			t.Errorf("message %d handed out while the gate was shut", index(m))
		}
		_ = m.Ack()
		handled.Add(1)
	})
	natstest.Eventually(t, 10*time.Second, "the gate asked several times", func() bool { return asked.Load() >= 5 })
	pending, ackPending, err := s.b.ConsumerPending(context.Background(), bus.StreamEvents, workDurable)
	if err != nil {
		t.Fatal(err)
	}
	if pending != n || ackPending != 0 || handled.Load() != 0 {
		t.Fatalf("gate shut: pending %d, ack pending %d, handled %d; want %d, 0, 0", pending, ackPending, handled.Load(), n)
	}
	open.Store(true)
	natstest.Eventually(t, 10*time.Second, "every message acked", func() bool { return handled.Load() == n && s.settled(t) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkShutdownInFlight: messages the server sends while Work stops are
// not stranded: whatever Work did not handle is available again at once (the
// ack wait is 30 s), whenever in a steady flow the shutdown comes.
//
// It fails with Puller.Fetch on jetstream.FetchContext: when ctx ends the
// client stops listening at once, but the server's pull request lives on
// until it expires, and what the server sends into it meanwhile stays
// unacknowledged until the ack wait. It passes with FetchMaxWait (the client
// listens until the request expires and naks what arrives after ctx ended).
func TestWorkShutdownInFlight(t *testing.T) {
	s := newWorkStack(t, 30*time.Second)
	// Short pulls keep each round quick: Work may take a pull's wait to stop.
	o := bus.WorkOptions{Concurrency: 4, FetchWait: 300 * time.Millisecond}
	for round := range 10 {
		pubCtx, stopPub := context.WithCancel(context.Background())
		pubDone := make(chan struct{})
		go func() {
			defer close(pubDone)
			for i := 0; pubCtx.Err() == nil; i++ {
				msg := &nats.Msg{Subject: "idv.events.test.verification.approved",
					Header: nats.Header{"Index": {strconv.Itoa(i)}}, Data: []byte("{}")}
				if _, err := s.b.PublishEvents(pubCtx, []*nats.Msg{msg}); err != nil && pubCtx.Err() == nil {
					t.Error(err)
				}
			}
		}()
		var handled atomic.Int64
		stop, _ := s.work(t, o, func(_ context.Context, m *bus.Msg) {
			_ = m.Ack()
			handled.Add(1)
		})
		natstest.Eventually(t, 10*time.Second, "a flow of messages", func() bool { return handled.Load() >= int64(5+round) })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		stopPub()
		<-pubDone
		stop2, _ := s.work(t, o, func(_ context.Context, m *bus.Msg) { _ = m.Ack() })
		natstest.Eventually(t, 5*time.Second, fmt.Sprintf("round %d: every message acked well within the ack wait", round),
			func() bool { return s.settled(t) })
		if err := stop2(); err != nil {
			t.Fatal(err)
		}
	}
}
