package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelayGrowsWithJitterWithinBounds(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		attempt int
		nominal time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {50, time.Second}} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(tc.attempt)
			if d < tc.nominal/2 || d > tc.nominal {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", tc.attempt, d, tc.nominal/2, tc.nominal)
			}
			seen[d] = true
		}
		// Replicas must not retry in lock-step: 200 draws from a range of
		// millions of nanoseconds are not all one value.
		if len(seen) < 2 {
			t.Fatalf("attempt %d: every wait was the same (%v): no jitter", tc.attempt, seen)
		}
	}
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	calls := 0
	var waits []time.Duration
	err := Do(context.Background(), Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}, func(context.Context) error {
		calls++
		if calls < 4 {
			return errors.New("nats down")
		}
		return nil
	}, func(attempt int, wait time.Duration, err error) {
		if attempt != len(waits)+1 || err == nil {
			t.Errorf("failed(%d, %s, %v) out of order", attempt, wait, err)
		}
		waits = append(waits, wait)
	})
	if err != nil || calls != 4 || len(waits) != 3 {
		t.Fatalf("Do = %v after %d calls and %d waits, want nil after 4 and 3", err, calls, len(waits))
	}
}

func TestDoStopsOnPermanent(t *testing.T) {
	bad := errors.New("bad config")
	calls := 0
	err := Do(context.Background(), Backoff{Initial: time.Millisecond, Max: time.Millisecond}, func(context.Context) error {
		calls++
		return Permanent(bad)
	}, nil)
	if !errors.Is(err, bad) || err.Error() != bad.Error() || calls != 1 {
		t.Fatalf("Do = %v after %d calls, want the permanent error itself after 1", err, calls)
	}
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	down := errors.New("nats down")
	err := Do(ctx, Backoff{Initial: time.Hour, Max: time.Hour}, func(context.Context) error { return down },
		func(int, time.Duration, error) { cancel() })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, down) {
		t.Fatalf("Do = %v, want the last error joined with context.Canceled (and no hour-long wait)", err)
	}
}

func TestDoStartsOverAfterALongRun(t *testing.T) {
	b := Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	calls := 0
	var attempts []int
	_ = Do(context.Background(), b, func(context.Context) error {
		calls++
		switch calls {
		case 3:
			time.Sleep(30 * time.Millisecond) // the op itself runs long (a healthy consumer), not a wait for something
		case 5:
			return nil
		}
		return errors.New("stopped")
	}, func(attempt int, _ time.Duration, _ error) { attempts = append(attempts, attempt) })
	want := []int{1, 2, 1, 2}
	if len(attempts) != len(want) {
		t.Fatalf("attempts %v, want %v", attempts, want)
	}
	for i := range want {
		if attempts[i] != want[i] {
			t.Fatalf("attempts %v, want %v: a failure after a long run must start the backoff over", attempts, want)
		}
	}
}
