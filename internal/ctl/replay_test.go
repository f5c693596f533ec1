package ctl

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
)

// TestReplaySourceTwiceChangesNothing: replaying a source's raw webhooks
// (twice, the second time over the first run's copies too) stores no
// duplicate event in IDV_EVENTS and sends no webhook again; a webhook the
// normalizer could not apply the first time (state unreadable) is applied
// by the replay, once.
func TestReplaySourceTwiceChangesNothing(t *testing.T) {
	rcv := newWebhookReceiver(t, http.StatusOK)
	s := startDLQStack(t, rcv.subscriber("onboarding"))
	s.storeRaw(t, "persona:evt_a", dlqPersonaWebhook("evt_a", "inq_a", "approved"))
	s.storeRaw(t, "persona:evt_b", dlqPersonaWebhook("evt_b", "inq_b", "declined"))
	s.storeRaw(t, "persona:evt_c", dlqPersonaWebhook("evt_c", "inq_c", "started")) // in_progress: no webhook
	// inq_d's state is corrupt: its webhook is dead-lettered, then repaired.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := s.b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, bus.StateKey("persona", "inq_d"), []byte("garbage"), 0); err != nil {
		t.Fatal(err)
	}
	s.storeRaw(t, "persona:evt_d", dlqPersonaWebhook("evt_d", "inq_d", "approved"))
	natstest.Eventually(t, 15*time.Second, "three events, two webhooks, one dead letter", func() bool {
		return len(s.read(t, bus.StreamEvents)) == 3 && len(rcv.got()) == 2 && len(s.read(t, bus.StreamDLQ)) == 1
	})
	dlqKVDelete(t, s.js.URL(), bus.StateKey("persona", "inq_d"))

	settle := func() {
		t.Helper()
		natstest.Eventually(t, 20*time.Second, "normalizer and notifier settled", func() bool {
			return s.settled(t, bus.StreamRaw, normalize.Durable) && s.settled(t, bus.StreamEvents, "notify-onboarding")
		})
	}
	for run, want := range []replaySummary{
		{Source: "persona", Read: 4, Replayed: 4, FirstSeq: 1, LastSeq: 4},
		{Source: "persona", Read: 8, Replayed: 4, Skipped: 4, FirstSeq: 1, LastSeq: 8}, // the first run's copies too
	} {
		code, out, _ := s.ctl(t, "replay", "--source", "persona", "--since", "1h", "--json")
		got := dlqJSONLines[replaySummary](t, out)
		if code != ExitOK || len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
			t.Fatalf("run %d: exit %d, %+v, want %+v", run+1, code, got, want)
		}
		natstest.Eventually(t, 15*time.Second, "the copies stored", func() bool { return len(s.read(t, bus.StreamRaw)) == 4*(run+2) })
		settle()
	}
	ev := s.read(t, bus.StreamEvents)
	if len(ev) != 4 || ev[3].Header.Get("ce-id") != normalize.EventID("persona:evt_d", "s0") {
		t.Fatalf("%d events after two replays, want 4, the last inq_d's approval with the id from its raw key", len(ev))
	}
	if got := rcv.got(); len(got) != 3 || got[2] != ev[3].Header.Get("ce-id") {
		t.Fatalf("webhooks after two replays: %v, want 3 (inq_d's approval once)", got)
	}

	// --until before everything: nothing in range; --dry-run counts only.
	if code, _, _ := s.ctl(t, "replay", "--source", "persona", "--seq", "1", "--until", "2000-01-01T00:00:00Z"); code != ExitNotFound {
		t.Fatalf("--until in the past: exit %d, want %d", code, ExitNotFound)
	}
	code, out, _ := s.ctl(t, "replay", "--source", "persona", "--seq", "5", "--dry-run", "--json")
	if got := dlqJSONLines[replaySummary](t, out); code != ExitOK || len(got) != 1 || got[0].Read != 8 || got[0].Replayed != 4 || !got[0].DryRun {
		t.Fatalf("dry run: exit %d %+v", code, got)
	}
	if n := len(s.read(t, bus.StreamRaw)); n != 12 {
		t.Fatalf("a dry run stored copies: %d raw messages", n)
	}
}
