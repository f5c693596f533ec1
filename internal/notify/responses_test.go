package notify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Each kind of answer (or no answer) decides how often an event is
// attempted and whether it ends in IDV_DLQ, and why. Every case: one event,
// MaxAttempts 3, a 100 ms schedule.
func TestResponseClasses(t *testing.T) {
	// A responder makes a receiver's respond function; it may use the
	// receiver (to hang).
	type responder = func(rc *receiver) func(n int, w http.ResponseWriter, r *http.Request) int
	always := func(status int) responder {
		return func(*receiver) func(int, http.ResponseWriter, *http.Request) int {
			return func(int, http.ResponseWriter, *http.Request) int { return status }
		}
	}
	cases := []struct {
		name string
		// respond answers the receiver's requests; nil: no receiver, url is used.
		respond responder
		url     func(t *testing.T) string
		adjust  func(*config.Subscriber)
		// outcomes are the attempts by outcome label, all of them.
		outcomes map[string]float64
		// dlq is the dead letter reason; "" when the event is delivered.
		dlq        string
		lastStatus int      // Idv-Last-Status; 0: absent
		errHas     []string // what Idv-Error must contain
	}{
		{name: "200", respond: always(200),
			outcomes: map[string]float64{notify.ClassSuccess: 1}},
		{name: "202", respond: always(202),
			outcomes: map[string]float64{notify.ClassSuccess: 1}},
		{name: "204", respond: always(204),
			outcomes: map[string]float64{notify.ClassSuccess: 1}},
		{name: "400", respond: always(400),
			outcomes: map[string]float64{notify.ClassRejected: 1},
			dlq:      notify.ReasonRejected, lastStatus: 400, errHas: []string{"rejected", "HTTP 400"}},
		// 410 Gone disables the subscriber instead: gone_test.go.
		{name: "404", respond: always(404),
			outcomes: map[string]float64{notify.ClassRejected: 1},
			dlq:      notify.ReasonRejected, lastStatus: 404, errHas: []string{"rejected", "HTTP 404"}},
		{name: "408 retried", respond: always(408),
			outcomes: map[string]float64{notify.ClassRequestTimeout: 3},
			dlq:      notify.ReasonAttemptsExhausted, lastStatus: 408, errHas: []string{"3 attempts", "HTTP 408"}},
		{name: "408 then 200", respond: func(*receiver) func(int, http.ResponseWriter, *http.Request) int {
			return func(n int, _ http.ResponseWriter, _ *http.Request) int {
				if n == 1 {
					return http.StatusRequestTimeout
				}
				return http.StatusOK
			}
		}, outcomes: map[string]float64{notify.ClassRequestTimeout: 1, notify.ClassSuccess: 1}},
		{name: "500 until max attempts", respond: always(500),
			outcomes: map[string]float64{notify.ClassServerError: 3},
			dlq:      notify.ReasonAttemptsExhausted, lastStatus: 500, errHas: []string{"3 attempts", "HTTP 500"}},
		{name: "no answer within the timeout", respond: func(rc *receiver) func(int, http.ResponseWriter, *http.Request) int {
			return func(_ int, _ http.ResponseWriter, r *http.Request) int {
				rc.hang(r) // the notifier gives up after its 1 s timeout
				return http.StatusOK
			}
		}, outcomes: map[string]float64{notify.ClassTimeout: 3},
			dlq: notify.ReasonAttemptsExhausted, errHas: []string{"3 attempts", "no answer within 1s"}},
		{name: "connection refused", url: func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			// Credentials in the URL must not reach Idv-Error.
			return strings.Replace(srv.URL, "http://", "http://hook-user:s3cr3t-pw@", 1) + "/hook"
		}, outcomes: map[string]float64{notify.ClassConnectionError: 3},
			dlq: notify.ReasonAttemptsExhausted, errHas: []string{"3 attempts", "connection refused"}},
		{name: "max age", respond: always(500),
			adjust: func(s *config.Subscriber) {
				s.Retry.Schedule = []time.Duration{time.Second}
				s.Retry.MaxAge = 300 * time.Millisecond
			}, outcomes: map[string]float64{notify.ClassServerError: 1},
			dlq: notify.ReasonAgeExhausted, lastStatus: 500, errHas: []string{"max age 300ms", "HTTP 500"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			var rc *receiver
			url := ""
			if c.respond != nil {
				rc = newReceiver(t, secretNew, nil)
				rc.respond = c.respond(rc)
				url = rc.srv.URL
			} else {
				url = c.url(t)
			}
			sub := subscriber("onboarding", url)
			if c.adjust != nil {
				c.adjust(&sub)
			}
			r := s.run(t, sub)
			id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
			want := 0.0
			for _, n := range c.outcomes {
				want += n
			}
			// The consumer learns of a new event asynchronously: it counts as
			// settled only once the event was seen to be attempted.
			natstest.Eventually(t, 15*time.Second, "the event's end", func() bool {
				if c.dlq != "" {
					return len(s.dlq(t, "onboarding")) >= 1
				}
				return r.attempts("onboarding", notify.ClassSuccess) >= 1
			})
			if c.dlq != "" {
				natstest.Eventually(t, 5*time.Second, "the dead letter counted", func() bool { return r.deadLetters("onboarding", c.dlq) == 1 })
			}
			s.waitSettled(t, "onboarding")
			for _, o := range []string{notify.ClassSuccess, notify.ClassRedirect, notify.ClassRejected, notify.ClassRequestTimeout,
				notify.ClassRateLimited, notify.ClassServerError, notify.ClassTimeout, notify.ClassConnectionError} {
				if got := r.attempts("onboarding", o); got != c.outcomes[o] {
					t.Errorf("attempts{outcome=%s} = %v, want %v", o, got, c.outcomes[o])
				}
			}
			if rc != nil {
				if got := rc.ids(); float64(len(got)) != want {
					t.Errorf("receiver got %d requests, want %v", len(got), want)
				}
				for i, got := range rc.ids() {
					if got != id {
						t.Errorf("request %d webhook-id %q, want %q", i+1, got, id)
					}
				}
			}
			dl := s.dlq(t, "onboarding")
			if c.dlq == "" {
				if len(dl) != 0 {
					t.Fatalf("%d dead letters for a delivered event: %s", len(dl), dl[0].Header.Get(bus.HeaderError))
				}
				for _, reason := range []string{notify.ReasonRejected, notify.ReasonAttemptsExhausted, notify.ReasonAgeExhausted} {
					if got := r.deadLetters("onboarding", reason); got != 0 {
						t.Errorf("dead_letters{reason=%s} = %v", reason, got)
					}
				}
				return
			}
			if len(dl) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dl))
			}
			s.checkDeadLetter(t, dl[0], id, int(want), c.lastStatus)
			for _, reason := range []string{notify.ReasonRejected, notify.ReasonAttemptsExhausted, notify.ReasonAgeExhausted} {
				if got := r.deadLetters("onboarding", reason); reason != c.dlq && got != 0 {
					t.Errorf("dead_letters{reason=%s} = %v, want 0", reason, got)
				}
			}
			msg := dl[0].Header.Get(bus.HeaderError)
			for _, part := range c.errHas {
				if !strings.Contains(msg, part) {
					t.Errorf("Idv-Error %q does not say %q", msg, part)
				}
			}
			for _, secret := range []string{"s3cr3t-pw", "hook-user", "127.0.0.1"} {
				if strings.Contains(msg, secret) {
					t.Errorf("Idv-Error %q carries the URL (%s)", msg, secret)
				}
			}
			t.Logf("Idv-Error: %s", msg)
		})
	}
}

// A 3xx is a failure, never followed: the server it points to gets nothing,
// the event is retried, then dead-lettered when its attempts run out.
func TestRedirectIsNotFollowed(t *testing.T) {
	s := newStack(t)
	target := newReceiver(t, secretNew, nil)
	rc := newResponder(t, secretNew, func(_ int, w http.ResponseWriter, _ *http.Request) int {
		w.Header().Set("Location", target.srv.URL+"/moved")
		return http.StatusFound
	})
	r := s.run(t, subscriber("onboarding", rc.srv.URL))
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "a dead letter or a followed redirect", func() bool {
		return len(s.dlq(t, "onboarding")) == 1 || len(target.requests()) > 0
	})
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect was followed: its target got %d requests", n)
	}
	s.waitSettled(t, "onboarding")
	natstest.Eventually(t, 5*time.Second, "the dead letter counted", func() bool {
		return r.deadLetters("onboarding", notify.ReasonAttemptsExhausted) == 1
	})
	if n := len(rc.requests()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if got := r.attempts("onboarding", notify.ClassRedirect); got != 3 {
		t.Errorf("attempts{outcome=redirect} = %v, want 3", got)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect was followed: its target got %d requests", n)
	}
	s.checkDeadLetter(t, s.dlq(t, "onboarding")[0], id, 3, http.StatusFound)
}

// A 429 with Retry-After: 1 delays the next attempt by a second although the
// schedule says 100 ms.
func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	s := newStack(t)
	rc := newResponder(t, secretNew, func(n int, w http.ResponseWriter, _ *http.Request) int {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	r := s.run(t, subscriber("onboarding", rc.srv.URL))
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "two attempts", func() bool { return len(rc.requests()) == 2 })
	s.waitSettled(t, "onboarding")
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d attempts, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Errorf("second attempt %s after the 429, before its Retry-After: 1", gap)
	}
	for i, r := range reqs {
		if got := r.header.Get("webhook-id"); got != id {
			t.Errorf("attempt %d webhook-id %q", i+1, got)
		}
	}
	if got := r.attempts("onboarding", notify.ClassRateLimited); got != 1 {
		t.Errorf("attempts{rate_limited} = %v", got)
	}
	if got := r.attempts("onboarding", notify.ClassSuccess); got != 1 {
		t.Errorf("attempts{success} = %v", got)
	}
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Fatalf("%d dead letters", len(d))
	}
}

// A 503 with Retry-After pauses the whole subscriber: an event handed out
// during the pause is not attempted before it ends, and waiting uses up none
// of its attempts.
func TestServiceUnavailablePausesSubscriber(t *testing.T) {
	s := newStack(t)
	var mu sync.Mutex
	seen := map[string]int{}
	rc := newResponder(t, secretNew, func(n int, w http.ResponseWriter, r *http.Request) int {
		mu.Lock()
		id := r.Header.Get("webhook-id")
		seen[id]++
		first := seen[id] == 1
		mu.Unlock()
		switch {
		case n == 1:
			w.Header().Set("Retry-After", "2")
			return http.StatusServiceUnavailable
		case first: // the other event's first attempt fails once
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	sub := subscriber("onboarding", rc.srv.URL)
	// Had the pause used up an attempt, the other event's failure would be
	// its last.
	sub.Retry.MaxAttempts = 2
	r := s.run(t, sub)
	first := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	// The pause starts when the notifier has the 503.
	natstest.Eventually(t, 10*time.Second, "the 503", func() bool { return r.attempts("onboarding", notify.ClassServerError) == 1 })
	// Another verification: not ordered behind the first.
	second := s.publish(t, "persona", "inq_2", idv.StatusApproved, 1)
	natstest.Eventually(t, 15*time.Second, "both delivered or dead-lettered", func() bool {
		return r.attempts("onboarding", notify.ClassSuccess) == 2 || len(s.dlq(t, "onboarding")) > 0
	})
	s.waitSettled(t, "onboarding")
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Fatalf("dead-lettered: %s", d[0].Header.Get(bus.HeaderError))
	}

	reqs := rc.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (503, the other event's 500, then both events)", len(reqs))
	}
	if got := reqs[0].header.Get("webhook-id"); got != first {
		t.Fatalf("first request for %q", got)
	}
	paused := reqs[0].at
	n := 0
	for _, q := range reqs[1:] {
		if q.header.Get("webhook-id") == second {
			n++
			if gap := q.at.Sub(paused); gap < 1800*time.Millisecond {
				t.Errorf("the other event was attempted %s after the 503 with Retry-After: 2", gap)
			}
		}
	}
	if n != 2 {
		t.Errorf("the other event was attempted %d times, want 2", n)
	}
	// The event was handed out during the pause and held back.
	if got := r.postponed("onboarding", "retry_after"); got < 1 {
		t.Errorf("postponed{reason=retry_after} = %v, want at least 1", got)
	}
}

// Two answers asking for different pauses: the subscriber is paused until
// the later one ends. Here one request gets a 503 with Retry-After: 3 and a
// concurrent one, answered just after, a 429 with Retry-After: 1; no request
// may come before the 3 s are over.
func TestLongestRetryAfterWins(t *testing.T) {
	s := newStack(t)
	both, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t, secretNew, nil)
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) int {
		switch n {
		case 1: // answered once the second request is in flight too
			select {
			case <-both:
			case <-r.Context().Done():
			case <-rc.done:
			}
			w.Header().Set("Retry-After", "3")
			return http.StatusServiceUnavailable
		case 2: // answered after the notifier has the 503
			close(both)
			select {
			case <-release:
			case <-r.Context().Done():
			case <-rc.done:
			}
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	}
	s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	s.publish(t, "persona", "inq_2", idv.StatusApproved, 1)
	r := s.run(t, subscriber("onboarding", rc.srv.URL))
	natstest.Eventually(t, 10*time.Second, "the 503", func() bool { return r.attempts("onboarding", notify.ClassServerError) == 1 })
	close(release)
	natstest.Eventually(t, 15*time.Second, "both delivered", func() bool { return r.attempts("onboarding", notify.ClassSuccess) == 2 })
	s.waitSettled(t, "onboarding")

	reqs := rc.requests()
	if got := r.attempts("onboarding", notify.ClassRateLimited); got != 1 {
		t.Fatalf("attempts{rate_limited} = %v, want 1", got)
	}
	paused := reqs[0].at
	for i, q := range reqs[2:] {
		if gap := q.at.Sub(paused); gap < 2800*time.Millisecond {
			t.Errorf("request %d came %s after a 503 with Retry-After: 3 (a later 429 asked for 1 s only)", i+3, gap)
		}
	}
}
