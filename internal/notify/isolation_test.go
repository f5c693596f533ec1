package notify_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// A subscriber whose endpoint hangs does not hold up another: the healthy
// one gets every event while the hanging one is still on its first
// attempts.
func TestSlowSubscriberDoesNotHoldUpOthers(t *testing.T) {
	s := newStack(t)
	slow := newReceiver(t, secretNew, nil)
	slow.respond = func(_ int, _ http.ResponseWriter, r *http.Request) int {
		slow.hang(r) // until the notifier's 1 s timeout
		return http.StatusOK
	}
	fast := newReceiver(t, secretNew, nil)
	const events = 20
	ids := map[string]bool{}
	for i := range events {
		ids[s.publish(t, "persona", fmt.Sprintf("inq_%d", i), idv.StatusApproved, 1)] = true
	}
	start := time.Now()
	s.run(t, subscriber("slow", slow.srv.URL), subscriber("fast", fast.srv.URL))

	// 20 events with 4 at a time and a 1 s timeout: the slow subscriber's
	// first attempts alone take 5 s, its first retry comes after 1.1 s.
	natstest.Eventually(t, 3*time.Second, "fast's 20 events", func() bool { return len(fast.requests()) >= events })
	took := time.Since(start)
	seen := map[string]bool{}
	for _, id := range slow.ids() {
		if seen[id] {
			t.Fatalf("the slow subscriber retried %s before the fast one had every event: they are not independent", id)
		}
		seen[id] = true
	}
	if s.settled(t, "slow") {
		t.Fatal("the slow subscriber settled: its endpoint did not hang")
	}
	s.waitSettled(t, "fast")
	got := map[string]int{}
	for _, id := range fast.ids() {
		got[id]++
	}
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("fast got %s %d times, want once", id, got[id])
		}
	}
	if len(got) != events {
		t.Errorf("fast got %d distinct events, want %d", len(got), events)
	}
	t.Logf("fast had all %d events after %s; slow had %d requests", events, took, len(slow.requests()))
}
