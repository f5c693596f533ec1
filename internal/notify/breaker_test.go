package notify_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/sdk/idv"
)

// After repeated failures the circuit opens: the endpoint gets no request
// during the cooldown and events wait without using up attempts; once the
// endpoint recovers, a probe closes the circuit and every event is
// delivered once.
func TestCircuitBreakerPausesWithoutBurningAttempts(t *testing.T) {
	s := newStack(t)
	var up atomic.Bool
	var mu sync.Mutex
	delivered := map[string]int{}
	rc := newReceiver(t, secretNew, func(_ int, r *http.Request) int {
		if !up.Load() {
			return http.StatusInternalServerError
		}
		mu.Lock()
		delivered[r.Header.Get("webhook-id")]++
		mu.Unlock()
		return http.StatusOK
	})
	sub := subscriber("onboarding", rc.srv.URL)
	sub.Breaker = config.CircuitBreaker{Failures: 3, Cooldown: time.Second}
	sub.Retry.MaxAttempts = 100
	r := s.run(t, sub)
	if got := r.circuit(t, "onboarding"); got != 0 {
		t.Fatalf("circuit state %v before any delivery, want 0 (closed)", got)
	}
	const events = 10
	var ids []string
	for i := range events {
		ids = append(ids, s.publish(t, "persona", fmt.Sprintf("inq_%d", i), idv.StatusApproved, 1))
	}

	natstest.Eventually(t, 10*time.Second, "the circuit open", func() bool { return r.circuit(t, "onboarding") == 2 })
	opened := time.Now()
	// While open, the endpoint gets nothing: observe most of the cooldown.
	time.Sleep(800 * time.Millisecond) // an observation window, not a wait for something
	reqs := rc.requests()
	if len(reqs) < 3 {
		t.Fatalf("the circuit opened after only %d requests, want 3 failures first", len(reqs))
	}
	// The circuit opened on the third failure's answer, after the third
	// request arrived: no probe may come before a cooldown from then.
	// Requests let through before it opened may still be arriving just after.
	quietFrom, quietUntil := opened.Add(50*time.Millisecond), reqs[2].at.Add(sub.Breaker.Cooldown)
	inWindow := 0
	for i, q := range reqs {
		if q.at.After(quietFrom) && q.at.Before(quietUntil) {
			t.Errorf("request %d came %s after the circuit opened, within its %s cooldown", i+1, q.at.Sub(opened), sub.Breaker.Cooldown)
		}
		if q.at.After(opened) {
			inWindow++
		}
	}
	t.Logf("%d requests before the circuit opened, %d in the %s after (the cooldown ended %s after it was seen open)",
		len(reqs)-inWindow, inWindow, time.Since(opened), quietUntil.Sub(opened))
	// Let it probe and fail at least once more: the probe reopens it.
	natstest.Eventually(t, 5*time.Second, "a failed probe", func() bool { return len(rc.requests()) > len(reqs) })
	natstest.Eventually(t, 5*time.Second, "the circuit open again", func() bool { return r.circuit(t, "onboarding") == 2 })
	failed := r.attempts("onboarding", notify.ClassServerError)
	// Without the breaker, 10 events on a 100 ms schedule would have made
	// dozens of attempts by now.
	if failed > 10 {
		t.Errorf("%v failed attempts while the circuit was opening and open; attempts are being burned", failed)
	}
	for _, id := range ids {
		seq := s.event(t, id).Sequence
		if n := s.recordedAttempts(t, "onboarding", seq); n > 3 {
			t.Errorf("event %s has %d attempts recorded (max 100): attempts burned while open", id, n)
		}
	}
	if got := r.postponed("onboarding", "circuit_open"); got == 0 {
		t.Error("postponed{reason=circuit_open} = 0")
	}

	up.Store(true)
	natstest.Eventually(t, 10*time.Second, "every event delivered", func() bool {
		return r.attempts("onboarding", notify.ClassSuccess) >= events
	})
	s.waitSettled(t, "onboarding")
	natstest.Eventually(t, 5*time.Second, "the circuit closed", func() bool { return r.circuit(t, "onboarding") == 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if delivered[id] != 1 {
			t.Errorf("event %s delivered %d times, want once", id, delivered[id])
		}
	}
	if len(delivered) != events {
		t.Errorf("%d events delivered, want %d", len(delivered), events)
	}
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Errorf("%d dead letters", len(d))
	}
	if t.Failed() {
		for i, q := range rc.requests() {
			t.Logf("request %d at %s: %s -> %d", i+1, q.at.Sub(opened), q.header.Get("webhook-id"), q.status)
		}
	}
	t.Logf("%v failed attempts in all, %v postponed", r.attempts("onboarding", notify.ClassServerError), r.postponed("onboarding", "circuit_open"))
}
