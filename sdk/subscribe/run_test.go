package subscribe

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/sdk/idv"
)

// failingJS answers every consumer request with err (after block, when
// set, waits for the request's context to end and returns its error).
type failingJS struct {
	err   error
	block bool

	mu    sync.Mutex
	calls int
}

func (f *failingJS) answer(ctx context.Context) (jetstream.Consumer, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, f.err
}

func (f *failingJS) Consumer(ctx context.Context, _, _ string) (jetstream.Consumer, error) {
	return f.answer(ctx)
}

func (f *failingJS) CreateConsumer(ctx context.Context, _ string, _ jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return f.answer(ctx)
}

func (f *failingJS) UpdateConsumer(ctx context.Context, _ string, _ jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return f.answer(ctx)
}

func (f *failingJS) Conn() *nats.Conn { return nil }

func (f *failingJS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func testSubscriber(t *testing.T, js jetStream) *Subscriber {
	t.Helper()
	s, err := newSubscriber(js, Options{Durable: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.retryMin, s.retryMax = time.Millisecond, 10*time.Millisecond
	s.OnVerificationUpdated(func(context.Context, Event, idv.VerificationUpdated) error { return nil })
	return s
}

// runAsync runs s until the returned cancel; the channel gets Run's result.
func runAsync(s *Subscriber) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// TestRunRetriesTransient: while setting up its consumer fails in a way
// that may pass (a late answer, no JetStream yet, a reconnect, a 503), Run
// keeps trying, and returns nil once its context ends.
func TestRunRetriesTransient(t *testing.T) {
	for name, err := range map[string]error{
		"API timeout":           context.DeadlineExceeded,
		"request timeout":       nats.ErrTimeout,
		"no responders":         nats.ErrNoResponders,
		"reconnecting":          nats.ErrConnectionReconnecting,
		"JetStream not enabled": jetstream.ErrJetStreamNotEnabled,
		"leader election":       &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"},
		"consumer deleted":      jetstream.ErrConsumerDoesNotExist,
	} {
		t.Run(name, func(t *testing.T) {
			js := &failingJS{err: err}
			cancel, done := runAsync(testSubscriber(t, js))
			waitFor(t, "five attempts", func() bool { return js.count() >= 5 })
			cancel()
			if err := result(t, done); err != nil {
				t.Fatalf("Run = %v after its context ended, want nil", err)
			}
		})
	}
}

// TestRunContextEndsDuringSetup: a context that ends while the consumer is
// being set up is a normal stop, not an error.
func TestRunContextEndsDuringSetup(t *testing.T) {
	js := &failingJS{block: true}
	cancel, done := runAsync(testSubscriber(t, js))
	waitFor(t, "the setup request", func() bool { return js.count() == 1 })
	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestRunFailsFast: what no retry can fix ends Run at once, with an error
// a caller can tell apart.
func TestRunFailsFast(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"no stream", jetstream.ErrStreamNotFound, ErrStreamNotFound},
		{"no permission", nats.ErrPermissionViolation, ErrNotPermitted},
		{"refused", &jetstream.APIError{Code: 400, ErrorCode: 10094, Description: "consumer max ack pending exceeds system limit"}, ErrConsumerRefused},
		{"closed", nats.ErrConnectionClosed, nats.ErrConnectionClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := &failingJS{err: tc.err}
			cancel, done := runAsync(testSubscriber(t, js))
			defer cancel()
			err := result(t, done)
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.err) {
				t.Fatalf("Run = %v, want %v wrapping %v", err, tc.want, tc.err)
			}
			if n := js.count(); n != 1 {
				t.Fatalf("%d attempts, want 1", n)
			}
		})
	}
}

// TestBackoffJitter: each wait is in the upper half of a window that
// doubles from min to max; reset starts again.
func TestBackoffJitter(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	windows := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for round := range 2 {
		for i, w := range windows {
			w *= time.Millisecond
			if d := b.next(); d < w/2 || d > w {
				t.Fatalf("round %d wait %d: %s, want within [%s, %s]", round, i, d, w/2, w)
			}
		}
		b.reset()
	}
	// Not every wait is the same: the jitter spreads processes apart.
	seen := map[time.Duration]bool{}
	for range 50 {
		b.reset()
		seen[b.next()] = true
	}
	if len(seen) < 2 {
		t.Fatal("50 first waits were all equal: no jitter")
	}
}
