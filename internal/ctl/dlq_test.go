package ctl

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
)

// TestDLQReplayNotifyToThatSubscriberOnly: a subscriber that answers 400
// dead-letters an event while another subscriber gets it. Replayed while
// still broken, it is dead-lettered anew with the event's own subject;
// replayed after the fix, it reaches that subscriber only, with the same
// webhook-id, and IDV_DLQ is empty afterwards.
func TestDLQReplayNotifyToThatSubscriberOnly(t *testing.T) {
	good := newWebhookReceiver(t, http.StatusOK)
	picky := newWebhookReceiver(t, http.StatusBadRequest)
	s := startDLQStack(t, good.subscriber("good"), picky.subscriber("picky"))
	s.storeRaw(t, "persona:evt_n1", dlqPersonaWebhook("evt_n1", "inq_n1", "approved"))

	var dl []bus.StoredMsg
	natstest.Eventually(t, 15*time.Second, "picky's dead letter", func() bool {
		dl = s.read(t, bus.StreamDLQ)
		return len(dl) == 1
	})
	natstest.Eventually(t, 15*time.Second, "good's delivery", func() bool { return len(good.got()) == 1 })
	eventID := good.got()[0]

	code, out, _ := s.ctl(t, "dlq", "list", "--json")
	list := dlqJSONLines[dlqEntry](t, out)
	if code != ExitOK || len(list) != 1 {
		t.Fatalf("list: exit %d, %d entries", code, len(list))
	}
	first := list[0]
	if first.Seq != dl[0].Seq || first.Stage != "notify" || first.Name != "picky" || first.EventID != eventID ||
		first.LastStatus != 400 || first.Attempts != 1 || first.OriginalSubject != "idv.events.persona.verification.approved" ||
		first.EventType != "io.idvbus.verification.updated.v1" || first.EventSubject != "inq_n1" || !strings.Contains(first.Reason, "rejected") {
		t.Fatalf("list entry %+v", first)
	}

	// Replayed while the subscriber still refuses: a new dead letter.
	if code, _, _ := s.ctl(t, "dlq", "replay", fmt.Sprint(first.Seq)); code != ExitOK {
		t.Fatalf("replay: exit %d", code)
	}
	natstest.Eventually(t, 15*time.Second, "a second attempt, dead-lettered again", func() bool {
		dl = s.read(t, bus.StreamDLQ)
		return len(picky.got()) == 2 && len(dl) == 1 && dl[0].Seq != first.Seq
	})
	h := dl[0].Header
	if h.Get(bus.HeaderOriginalSubject) != first.OriginalSubject || h.Get(bus.HeaderReplayOf) != fmt.Sprintf("IDV_DLQ:%d", first.Seq) ||
		h.Get("ce-id") != eventID || dl[0].Subject != "idv.dlq.notify.picky" {
		t.Fatalf("second dead letter %s %v", dl[0].Subject, h)
	}

	// Fixed: replay every dead letter of picky.
	picky.status.Store(http.StatusNoContent)
	code, out, _ = s.ctl(t, "dlq", "replay", "--all", "--stage", "notify", "--name", "picky", "--json")
	res := dlqJSONLines[dlqResult](t, out)
	if code != ExitOK || len(res) != 1 || res[0].Result != "replayed" || res[0].To != "idv.redeliver.picky" {
		t.Fatalf("replay --all: exit %d, %+v", code, res)
	}
	natstest.Eventually(t, 15*time.Second, "the delivery to picky", func() bool { return len(picky.got()) == 3 })
	natstest.Eventually(t, 15*time.Second, "both consumers settled", func() bool {
		return s.settled(t, bus.StreamEvents, "notify-picky") && s.settled(t, bus.StreamEvents, "notify-good")
	})
	for i, id := range picky.got() {
		if id != eventID {
			t.Fatalf("picky's request %d had webhook-id %s, want %s", i, id, eventID)
		}
	}
	if n := len(good.got()); n != 1 {
		t.Fatalf("good got %d requests, want 1: a replay for picky reached another subscriber", n)
	}
	if dl := s.read(t, bus.StreamDLQ); len(dl) != 0 {
		t.Fatalf("%d dead letters left", len(dl))
	}
	if code, out, _ := s.ctl(t, "dlq", "list"); code != ExitOK || out != "" {
		t.Fatalf("list after: exit %d %q", code, out)
	}
}

// TestDLQReplayNormalizeAfterStateRepair: a corrupted IDV_STATE entry makes
// the normalizer dead-letter a webhook ("state unreadable"); the operator
// looks at it, repairs the state, and replays it: the event comes out with
// the id the webhook would have given in the first place, once, even when
// the source's raw webhooks are replayed after that.
func TestDLQReplayNormalizeAfterStateRepair(t *testing.T) {
	s := startDLQStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := bus.StateKey("persona", "inq_bad")
	st, err := s.b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, key, []byte("{half a state"), 0); err != nil {
		t.Fatal(err)
	}
	body := dlqPersonaWebhook("evt_bad", "inq_bad", "approved")
	s.storeRaw(t, "persona:evt_bad", body)

	var dl []bus.StoredMsg
	natstest.Eventually(t, 15*time.Second, "the dead letter", func() bool {
		dl = s.read(t, bus.StreamDLQ)
		return len(dl) == 1
	})
	seq := fmt.Sprint(dl[0].Seq)
	code, out, _ := s.ctl(t, "dlq", "list", "--stage", "normalize", "--json")
	list := dlqJSONLines[dlqEntry](t, out)
	if code != ExitOK || len(list) != 1 || list[0].Name != "persona" || list[0].RawKey != "persona:evt_bad" ||
		!strings.Contains(list[0].Reason, "unreadable") || list[0].OriginalSubject != "idv.raw.persona.persona" {
		t.Fatalf("list: exit %d %+v", code, list)
	}
	if code, out, _ := s.ctl(t, "dlq", "list", "--stage", "notify"); code != ExitOK || out != "" {
		t.Fatalf("list --stage notify: exit %d %q", code, out)
	}
	code, out, _ = s.ctl(t, "dlq", "show", seq)
	if code != ExitOK || !strings.Contains(out, "Idv-Error: ") || !strings.Contains(out, fmt.Sprintf("%d bytes", len(body))) ||
		strings.Contains(out, "user-7") {
		t.Fatalf("show: exit %d, want headers and size but no body:\n%s", code, out)
	}
	if code, out, _ := s.ctl(t, "dlq", "show", seq, "--body"); code != ExitOK || !strings.Contains(out, `"reference-id":"user-7"`) {
		t.Fatalf("show --body: exit %d", code)
	}

	// The operator repairs the state (here: removes the corrupted entry).
	dlqKVDelete(t, s.js.URL(), key)
	if code, _, _ := s.ctl(t, "dlq", "replay", seq); code != ExitOK {
		t.Fatalf("replay: exit %d", code)
	}
	var events []bus.StoredMsg
	natstest.Eventually(t, 15*time.Second, "the event", func() bool {
		events = s.read(t, bus.StreamEvents)
		return len(events) == 1
	})
	want := normalize.EventID("persona:evt_bad", "s0")
	if e := events[0]; e.Subject != "idv.events.persona.verification.approved" || e.Header.Get("ce-id") != want {
		t.Fatalf("event %s id %s, want id %s (from the raw key)", e.Subject, e.Header.Get("ce-id"), want)
	}
	if dl := s.read(t, bus.StreamDLQ); len(dl) != 0 {
		t.Fatalf("%d dead letters left", len(dl))
	}
	raw := s.read(t, bus.StreamRaw)
	if len(raw) != 2 || raw[1].Header.Get(bus.HeaderRawKey) != "persona:evt_bad" || raw[1].Header.Get(bus.HeaderReplayOf) != "IDV_DLQ:"+seq ||
		raw[1].Header.Get(bus.HeaderSource) != "persona" || raw[1].Header.Get(bus.HeaderMsgID) == "persona:evt_bad" || string(raw[1].Data) != string(body) {
		t.Fatalf("IDV_RAW after the replay: %d messages, copy headers %v", len(raw), raw[len(raw)-1].Header)
	}

	// Replaying the source now (the original and the copy) changes nothing.
	if code, _, _ := s.ctl(t, "replay", "--source", "persona", "--seq", "1"); code != ExitOK {
		t.Fatalf("replay --source: exit %d", code)
	}
	natstest.Eventually(t, 15*time.Second, "the normalizer settled", func() bool {
		return len(s.read(t, bus.StreamRaw)) == 3 && s.settled(t, bus.StreamRaw, normalize.Durable)
	})
	if events := s.read(t, bus.StreamEvents); len(events) != 1 {
		t.Fatalf("%d events after replaying the source, want still 1", len(events))
	}
}

// dlqKVDelete removes an IDV_STATE key, as an operator repairing a state would
// (nats kv del IDV_STATE <key>).
func dlqKVDelete(t *testing.T, url, key string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bus.BucketState)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
}

// TestDLQPurgeDryRunAndExitCodes: unknown sequence numbers, partial work,
// usage errors, a dry run that changes nothing, and purge.
func TestDLQPurgeDryRunAndExitCodes(t *testing.T) {
	s := startDLQStack(t)
	for i := range 3 {
		s.storeRaw(t, fmt.Sprintf("persona:junk%d", i), []byte(fmt.Sprintf(`{"data":"not a Persona event %d"}`, i)))
	}
	var dl []bus.StoredMsg
	natstest.Eventually(t, 15*time.Second, "three dead letters", func() bool {
		dl = s.read(t, bus.StreamDLQ)
		return len(dl) == 3
	})
	a, b := fmt.Sprint(dl[0].Seq), fmt.Sprint(dl[1].Seq)

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"dlq"}, ExitUsage},
		{[]string{"dlq", "frob"}, ExitUsage},
		{[]string{"dlq", "show", "999"}, ExitNotFound},
		{[]string{"dlq", "show", "x"}, ExitUsage},
		{[]string{"dlq", "replay", "999"}, ExitNotFound},
		{[]string{"dlq", "replay"}, ExitUsage},
		{[]string{"dlq", "replay", a, "--all"}, ExitUsage},
		{[]string{"dlq", "replay", a, "--stage", "notify"}, ExitUsage},
		{[]string{"dlq", "list", "--stage", "bogus"}, ExitUsage},
		{[]string{"dlq", "purge", a}, ExitUsage}, // no --yes
		{[]string{"dlq", "replay", a, "999", "--dry-run"}, ExitPartial},
		{[]string{"dlq", "purge", "--all", "--dry-run"}, ExitOK},
		{[]string{"replay", "--source", "persona"}, ExitUsage},
		{[]string{"replay", "--source", "nosuch", "--seq", "1"}, ExitNotFound},
	} {
		if code, _, _ := s.ctl(t, tc.args...); code != tc.want {
			t.Errorf("idvctl %v: exit %d, want %d", tc.args, code, tc.want)
		}
	}
	if got := s.read(t, bus.StreamDLQ); len(got) != 3 {
		t.Fatalf("%d dead letters after dry runs and refusals, want 3", len(got))
	}
	// A dead letter already replayed (or never there) says so, with what to
	// try; the last stderr line says nothing was put back.
	code, out, errs := s.ctl(t, "dlq", "replay", "999")
	if code != ExitNotFound || !strings.Contains(out, "already replayed or purged? idvctl dlq list") ||
		!strings.Contains(errs, "idvctl dlq replay: 0 put back, 1 not found") || strings.Contains(errs, "1/1") {
		t.Errorf("replay of a missing dead letter: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got := s.read(t, bus.StreamRaw); len(got) != 3 {
		t.Fatalf("%d raw webhooks after dry runs, want 3", len(got))
	}

	code, out, _ = s.ctl(t, "dlq", "purge", a, "999", "--yes", "--json")
	res := dlqJSONLines[dlqResult](t, out)
	if code != ExitPartial || len(res) != 2 || res[0].Result != "purged" || res[1].Result != "not_found" {
		t.Fatalf("purge: exit %d %+v", code, res)
	}
	if code, _, _ := s.ctl(t, "dlq", "show", a); code != ExitNotFound {
		t.Fatalf("show of a purged dead letter: exit %d", code)
	}
	// A put-back that is refused: unreadable JSON is dead-lettered again.
	if code, _, _ := s.ctl(t, "dlq", "replay", b, "--keep"); code != ExitOK {
		t.Fatalf("replay --keep: exit %d", code)
	}
	natstest.Eventually(t, 15*time.Second, "dead-lettered anew, the original kept", func() bool {
		return len(s.read(t, bus.StreamDLQ)) == 3
	})
	code, out, _ = s.ctl(t, "dlq", "purge", "--all", "--stage", "normalize", "--name", "persona", "--yes", "--json")
	if res := dlqJSONLines[dlqResult](t, out); code != ExitOK || len(res) != 3 {
		t.Fatalf("purge --all: exit %d %+v", code, res)
	}
	if got := s.read(t, bus.StreamDLQ); len(got) != 0 {
		t.Fatalf("%d dead letters after purge --all", len(got))
	}

	// A notify dead letter of a subscriber that no longer exists: refused,
	// and kept.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gone := &nats.Msg{Subject: bus.DLQSubject("notify", "gone"), Data: []byte("{}"), Header: nats.Header{
		bus.HeaderMsgID: {"gone-1"}, bus.HeaderStage: {"notify"}, "ce-id": {"e1"},
		bus.HeaderOriginalSubject: {"idv.events.persona.verification.approved"}}}
	seq, _, err := s.b.Republish(ctx, bus.StreamDLQ, gone)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = s.ctl(t, "dlq", "replay", fmt.Sprint(seq))
	if code != ExitFailure || !strings.Contains(out, "failed") || !strings.Contains(out, "no consumer notify-gone") {
		t.Fatalf("replay for a removed subscriber: exit %d %q", code, out)
	}
	if got := s.read(t, bus.StreamDLQ); len(got) != 1 {
		t.Fatalf("%d dead letters, want the refused one kept", len(got))
	}
}
