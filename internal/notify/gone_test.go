package notify_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// TestGoneDisablesSubscriber: a subscriber answering 410 Gone (Standard
// Webhooks: the endpoint is gone) is disabled. Nothing more is sent to it,
// nothing is dead-lettered for it, its consumer keeps every event, the
// metric says so, and a restart keeps it disabled. After an operator resumes
// it, every held event is delivered.
func TestGoneDisablesSubscriber(t *testing.T) {
	s := newStack(t)
	var gone atomic.Bool
	gone.Store(true)
	rc := newReceiver(t, secretNew, func(int, *http.Request) int {
		if gone.Load() {
			return http.StatusGone
		}
		return http.StatusNoContent
	})
	sub := subscriber("onboarding", rc.srv.URL)
	sub.Concurrency = 1 // one request in flight: exactly one 410
	r := s.run(t, sub)
	var ids []string
	for i := range 3 {
		ids = append(ids, s.publish(t, "persona", "inq_"+string(rune('a'+i)), idv.StatusApproved, 1))
	}
	natstest.Eventually(t, 15*time.Second, "disabled after 410", func() bool {
		return len(rc.requests()) >= 1 && r.gauge(t, "idvbus_notifier_subscriber_disabled", "onboarding") == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := s.b.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mark, _, err := store.GetDisabled(ctx, "onboarding")
	if err != nil || mark == nil {
		t.Fatalf("no disabled mark in IDV_DELIVERIES: %s, %v", mark, err)
	}

	// A restart keeps it disabled: the new notifier reads the mark before
	// pulling anything.
	r.stop()
	r = s.run(t, sub)
	natstest.Eventually(t, 15*time.Second, "disabled after restart", func() bool {
		return r.gauge(t, "idvbus_notifier_subscriber_disabled", "onboarding") == 1
	})
	// An absence over a window, not a wait for something: two poll
	// intervals of the restarted notifier send nothing.
	time.Sleep(2 * time.Second)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests to a disabled subscriber, want the one that answered 410", n)
	}
	if dl := s.dlq(t, "onboarding"); len(dl) != 0 {
		t.Fatalf("%d dead letters for a disabled subscriber", len(dl))
	}
	if p, ap := s.pending(t, "onboarding"); p+uint64(ap) != 3 {
		t.Fatalf("consumer holds %d undelivered + %d unacked, want all 3 events kept", p, ap)
	}

	gone.Store(false)
	if err := store.Resume(ctx, "onboarding"); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 60*time.Second, "every held event delivered after resume", func() bool {
		got := map[string]bool{}
		for _, q := range rc.requests() {
			if q.status == http.StatusNoContent {
				got[q.header.Get("webhook-id")] = true
			}
		}
		return len(got) == len(ids)
	})
	s.waitSettled(t, "onboarding")
	if g := r.gauge(t, "idvbus_notifier_subscriber_disabled", "onboarding"); g != 0 {
		t.Errorf("disabled gauge %v after resume", g)
	}
	if dl := s.dlq(t, "onboarding"); len(dl) != 0 {
		t.Errorf("%d dead letters", len(dl))
	}
	if err := store.Resume(ctx, "onboarding"); !errors.Is(err, bus.ErrNotFound) {
		t.Errorf("resuming an enabled subscriber: %v, want ErrNotFound", err)
	}
}
