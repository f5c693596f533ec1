package notify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Attempts are counted in IDV_DELIVERIES, not in the process: an event that
// failed twice under one notifier is dead-lettered after exactly one more
// attempt under the next (max attempts 3).
func TestAttemptsCountAcrossRestart(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, func(int, *http.Request) int { return http.StatusInternalServerError })
	sub := subscriber("onboarding", rc.srv.URL)
	// A second retry late enough to stop the first notifier before it.
	sub.Retry.Schedule = []time.Duration{100 * time.Millisecond, time.Second}
	a := s.run(t, sub)
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	seq := s.event(t, id).Sequence
	natstest.Eventually(t, 10*time.Second, "two failed attempts recorded", func() bool {
		return s.recordedAttempts(t, "onboarding", seq) == 2
	})
	a.stop()
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("%d attempts under the first notifier, want 2", n)
	}
	if got := a.attempts("onboarding", notify.ClassServerError); got != 2 {
		t.Fatalf("first notifier: attempts{server_error} = %v, want 2", got)
	}

	b := s.run(t, sub)
	natstest.Eventually(t, 10*time.Second, "a dead letter", func() bool { return len(s.dlq(t, "onboarding")) == 1 })
	s.waitSettled(t, "onboarding")
	natstest.Eventually(t, 5*time.Second, "the dead letter counted", func() bool {
		return b.deadLetters("onboarding", notify.ReasonAttemptsExhausted) == 1
	})
	if got := b.attempts("onboarding", notify.ClassServerError); got != 1 {
		t.Errorf("second notifier: attempts{server_error} = %v, want 1", got)
	}
	if n := len(rc.requests()); n != 3 {
		t.Errorf("%d attempts in all, want 3", n)
	}
	d := s.dlq(t, "onboarding")[0]
	s.checkDeadLetter(t, d, id, 3, http.StatusInternalServerError)
	t.Logf("Idv-Error: %s", d.Header.Get(bus.HeaderError))
}

// A notifier that dies while a request is in flight leaves the event to the
// next one, which delivers it again with the same webhook-id within the ack
// wait; nothing is dead-lettered.
func TestKilledMidDeliveryIsRedelivered(t *testing.T) {
	s := newStack(t)
	release := make(chan struct{})
	rc := newReceiver(t, secretNew, nil)
	rc.respond = func(n int, _ http.ResponseWriter, _ *http.Request) int {
		if n == 1 {
			select { // not r.Context(): the answer comes whatever the client did
			case <-release:
			case <-rc.done:
			}
		}
		return http.StatusOK
	}
	sub := subscriber("onboarding", rc.srv.URL)
	a := s.run(t, sub)
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "the request in flight", func() bool { return len(rc.requests()) == 1 })
	killed := time.Now()
	a.kill()
	close(release)

	b := s.run(t, sub)
	natstest.Eventually(t, 3*s.cfg.Notifier.AckWait, "the event delivered again", func() bool { return len(rc.requests()) == 2 })
	s.waitSettled(t, "onboarding")
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, q := range reqs {
		if got := q.header.Get("webhook-id"); got != id {
			t.Errorf("request %d webhook-id %q, want %q", i+1, got, id)
		}
		if q.verified != nil {
			t.Errorf("request %d: %v", i+1, q.verified)
		}
	}
	// The kill itself lasts the shutdown timeout; the ack wait runs from the
	// last keepalive before the connection dropped.
	if took := reqs[1].at.Sub(killed); took > s.cfg.Notifier.AckWait+time.Second {
		t.Errorf("redelivered %s after the kill, want within the ack wait %s", took, s.cfg.Notifier.AckWait)
	}
	if got := b.attempts("onboarding", notify.ClassSuccess); got != 1 {
		t.Errorf("second notifier: attempts{success} = %v, want 1", got)
	}
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Errorf("%d dead letters", len(d))
	}
}
