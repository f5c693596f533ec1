package ctl

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ctl/samples"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
)

// stack is the all-in-one (ingest, normalizer, notifier) on an in-process
// JetStream server, with the development sources.
type stack struct {
	natsURL, ingestURL string
}

func startStack(t *testing.T) *stack {
	t.Helper()
	srv := natstest.RunJS(t)
	cfg := config.Development()
	cfg.NATS.URL = srv.URL()
	cfg.JetStream.Storage = "memory"
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	ep := apptest.RunAllInOne(t, cfg, zaptest.NewLogger(t), 20*time.Second)
	return &stack{natsURL: srv.URL(), ingestURL: ep.Webhooks}
}

// settledStatus is idvctl status --json, and whether the normalizer's
// consumer has nothing pending or unacknowledged in it.
func (s *stack) settledStatus(t *testing.T) (statusResult, bool) {
	t.Helper()
	code, out, _ := s.run(t, "status", "--json")
	var res statusResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil {
		return res, false
	}
	for _, c := range res.Consumers {
		if c.Stream == "IDV_RAW" && (c.Pending > 0 || c.AckPending > 0) {
			return res, false
		}
	}
	return res, true
}

// run runs idvctl against the stack.
func (s *stack) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return idvctl(t, nil, append([]string{"--nats", s.natsURL}, args...)...)
}

func (s *stack) send(t *testing.T, args ...string) sendResult {
	t.Helper()
	code, out, errs := s.run(t, append([]string{"send", "--json", "--ingest", s.ingestURL}, args...)...)
	if code != ExitOK {
		t.Fatalf("send %v: exit %d: %s", args, code, errs)
	}
	var r sendResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("send output %q: %v", out, err)
	}
	return r
}

// structured is the part of a structured CloudEvent the tests read.
type structured struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Source  string `json:"source"`
	Data    struct {
		Status    string `json:"status"`
		Revision  int    `json:"revision"`
		Reference string `json:"reference_id"`
		Check     string `json:"check"`
		Result    string `json:"result"`
	} `json:"data"`
}

func parseEvents(t *testing.T, out string) []structured {
	t.Helper()
	var evs []structured
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev structured
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("tail line %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestSendTailStateOnTheStack: what send posts is accepted, normalized,
// seen by tail and recorded in the state, with its history.
func TestSendTailStateOnTheStack(t *testing.T) {
	s := startStack(t)
	const id = "inq_E2Estack0000000000000001"

	r := s.send(t, "--id", id, "--reference", "cust-1", "persona", "inquiry.created")
	if r.Status != "accepted" || !strings.HasPrefix(r.ID, "persona:evt_") || r.VerificationID != id {
		t.Fatalf("send: %+v", r)
	}
	// tail sees it: --all starts before it, --count 1 stops at it, --idle bounds the wait.
	code, out, errs := s.run(t, "tail", "--json", "--all", "--verification", id, "--count", "1", "--idle", "15s")
	if code != ExitOK {
		t.Fatalf("tail: exit %d: %s", code, errs)
	}
	evs := parseEvents(t, out)
	if len(evs) != 1 || evs[0].Subject != id || evs[0].Data.Status != "created" || evs[0].Data.Revision != 1 ||
		evs[0].Data.Reference != "cust-1" || evs[0].Source != "/sources/persona" {
		t.Fatalf("tail: %+v", evs)
	}

	s.send(t, "--id", id, "--reference", "cust-1", "persona", "inquiry.started")
	s.send(t, "--id", id, "--reference", "cust-1", "persona", "verification.passed")
	// After the sends above (created-at orders Persona events), second precision.
	at := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	first := s.send(t, "--id", id, "--reference", "cust-1", "--event-id", "evt_E2Eapproved", "--at", at, "persona", "inquiry.approved")
	again := s.send(t, "--id", id, "--reference", "cust-1", "--event-id", "evt_E2Eapproved", "--at", at, "persona", "inquiry.approved")
	if first.Status != "accepted" || again.Status != "duplicate" || again.ID != first.ID {
		t.Fatalf("same --event-id and --at twice: %+v then %+v, want accepted then duplicate", first, again)
	}

	// The last three status changes, in order; the check event is filtered out by --type.
	code, out, errs = s.run(t, "tail", "--json", "--vendor", "persona", "--type", "verification", "--last", "3", "--count", "3", "--idle", "15s")
	if code != ExitOK {
		t.Fatalf("tail --last: exit %d: %s", code, errs)
	}
	evs = parseEvents(t, out)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Data.Status)
	}
	if strings.Join(got, ",") != "created,in_progress,approved" || evs[2].Data.Revision != 3 {
		t.Fatalf("tail --last 3: %v (%+v)", got, evs)
	}
	// The human line of a check event.
	code, out, _ = s.run(t, "tail", "--all", "--check", "selfie", "--count", "1", "--idle", "15s")
	if code != ExitOK || !strings.Contains(out, id+" check selfie passed ref cust-1 id ") {
		t.Fatalf("tail --check: exit %d %q", code, out)
	}

	// state: the status, its decider and the history of status changes.
	code, out, errs = s.run(t, "state", "--json", "persona", id)
	if code != ExitOK {
		t.Fatalf("state: exit %d: %s", code, errs)
	}
	var st stateResult
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	var cur normalize.State
	if err := json.Unmarshal(st.State, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Status != "approved" || cur.Revision != 3 || cur.ReferenceID != "cust-1" || len(cur.History) != 3 ||
		cur.History[0].Status != "created" || cur.History[2].VendorEvent != "inquiry.approved" {
		t.Fatalf("state: %+v", cur)
	}
	// One KV write per applied event (the check event too), the last being the current state.
	if n := len(st.KVRevisions); n != 4 || st.KVRevisions[n-1].Status != "approved" || st.KVRevisions[0].Status != "created" {
		t.Fatalf("kv revisions: %+v", st.KVRevisions)
	}
	code, out, _ = s.run(t, "state", "persona", id)
	for _, want := range []string{"status approved by vendor, revision 3", "rev 2   in_progress", "inquiry.approved"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("state text lacks %q:\n%s", want, out)
		}
	}

	// status: the streams hold what was sent, the normalizer has nothing left.
	natstest.Eventually(t, 15*time.Second, "normalizer consumer settled", func() bool {
		res, ok := s.settledStatus(t)
		return ok && len(res.Streams) == 3 && res.Streams[0].Messages == 4 && res.Streams[1].Messages == 4 &&
			len(res.Consumers) >= 1 && len(res.Buckets) == 2
	})
	if code, out, _ := s.run(t, "status"); code != ExitOK || !strings.Contains(out, "IDV_EVENTS") || !strings.Contains(out, "dead letters:\n  (none)") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

func TestStatusCountsDeadLetters(t *testing.T) {
	s := startStack(t)
	dir := t.TempDir()
	path := dir + "/garbage.json"
	if err := writeFile(path, `{"not":"persona"}`); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := s.run(t, "send", "--ingest", s.ingestURL, "--file", path, "--source", "persona"); code != ExitOK {
		t.Fatalf("send --file: exit %d %s", code, errs)
	}
	natstest.Eventually(t, 15*time.Second, "a dead letter counted", func() bool {
		code, out, _ := s.run(t, "status", "--json")
		var res statusResult
		return code == ExitOK && json.Unmarshal([]byte(out), &res) == nil && res.DeadLetters["normalize.persona"] == 1
	})
}

func TestInspectExitCodes(t *testing.T) {
	s := startStack(t)
	if code, _, errs := s.run(t, "state", "persona", "inq_missing"); code != ExitNotFound || !strings.Contains(errs, `no state for persona verification "inq_missing"`) {
		t.Errorf("missing state: exit %d %q, want %d", code, errs, ExitNotFound)
	}
	if code, _, _ := s.run(t, "state", "acme", "x"); code != ExitUsage {
		t.Errorf("unknown vendor: exit %d, want %d", code, ExitUsage)
	}
	if code, _, _ := s.run(t, "state", "persona"); code != ExitUsage {
		t.Errorf("missing id: exit %d, want %d", code, ExitUsage)
	}
	for _, args := range [][]string{
		{"tail", "--status", "great"},
		{"tail", "--all", "--last", "2"},
		{"tail", "--since", "yesterday"},
		{"tail", "extra"},
		{"status", "extra"},
	} {
		if code, _, errs := s.run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d %q, want %d", args, code, errs, ExitUsage)
		}
	}
	// --idle ends a tail that got fewer events than --count: 3.
	if code, _, errs := s.run(t, "tail", "--vendor", "persona", "--count", "1", "--idle", "200ms"); code != ExitNotFound || !strings.Contains(errs, "0 of 1 events") {
		t.Errorf("idle tail: exit %d %q, want %d", code, errs, ExitNotFound)
	}
	// Without --count, idle is a normal end.
	if code, _, _ := s.run(t, "tail", "--idle", "100ms"); code != ExitOK {
		t.Errorf("idle tail without count: exit %d", code)
	}
	unreachable := "nats://127.0.0.1:1"
	for _, args := range [][]string{
		{"state", "persona", "inq_1"},
		{"tail", "--idle", "1s"},
		{"status"},
	} {
		code, _, errs := idvctl(t, nil, append([]string{"--nats", unreachable, "--timeout", "2s"}, args...)...)
		// The message names the URL, the cause and what to try.
		if code != ExitFailure || !strings.Contains(errs, "connect to NATS at "+unreachable+": connection refused") ||
			!strings.Contains(errs, "is idvbus running? --nats URL") {
			t.Errorf("%v with NATS down: exit %d %q, want %d naming the URL, the cause and --nats", args, code, errs, ExitFailure)
		}
	}
}

// TestEverySampleNormalizesOnTheStack: every sample, sent to the all-in-one,
// is accepted and normalized into the event its catalog entry promises;
// none is dead-lettered.
func TestEverySampleNormalizesOnTheStack(t *testing.T) {
	s := startStack(t)
	sent := map[string]samples.Sample{} // by verification id
	for _, smp := range samples.All() {
		r := s.send(t, smp.Vendor, smp.Name)
		if r.Status != "accepted" {
			t.Fatalf("%s %s: %+v", smp.Vendor, smp.Name, r)
		}
		sent[r.VerificationID] = smp
	}
	natstest.Eventually(t, 30*time.Second, "the normalizer has taken everything", func() bool {
		res, ok := s.settledStatus(t)
		if !ok {
			return false
		}
		if len(res.DeadLetters) > 0 {
			t.Fatalf("dead letters: %v", res.DeadLetters)
		}
		return res.Streams[0].Messages == uint64(len(sent))
	})
	code, out, errs := s.run(t, "tail", "--json", "--all", "--idle", "500ms")
	if code != ExitOK {
		t.Fatalf("tail: exit %d %s", code, errs)
	}
	found := map[string]bool{}
	for _, ev := range parseEvents(t, out) {
		smp, ok := sent[ev.Subject]
		if !ok {
			t.Fatalf("an event of a verification never sent: %+v", ev)
		}
		w := smp.Want
		if (w.Status != "" && ev.Data.Status == string(w.Status)) ||
			(w.Check != "" && ev.Data.Check == string(w.Check) && ev.Data.Result == string(w.Result)) {
			found[ev.Subject] = true
		}
	}
	for id, smp := range sent {
		if !found[id] {
			t.Errorf("%s %s (%s): no event says %s", smp.Vendor, smp.Name, id, smp.Want)
		}
	}
}

// An operator inspecting the bus with the services' own config file needs
// none of the vendors' secrets; send, which signs, does.
func TestServiceConfigWithoutSecretsServesTheNATSCommands(t *testing.T) {
	s := startStack(t)
	path := t.TempDir() + "/idvbus.yaml"
	if err := writeFile(path, "nats: {url: \""+s.natsURL+"\"}\n"+
		"sources:\n  - {name: persona, vendor: persona, auth: {type: persona, secrets: [\"${IDVCTL_TEST_UNSET_SECRET}\"]}}\n"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"dlq", "list"}, {"tail", "--all", "--idle", "100ms"}} {
		if code, _, errs := idvctl(t, nil, append([]string{"--config", path}, args...)...); code != ExitOK {
			t.Errorf("%v: exit %d %q, want 0", args, code, errs)
		}
	}
	code, _, errs := idvctl(t, nil, "--config", path, "send", "persona", "inquiry.approved", "--ingest", s.ingestURL)
	if code != ExitUsage || !strings.Contains(errs, "IDVCTL_TEST_UNSET_SECRET is not set") {
		t.Errorf("send without the secret: exit %d %q, want %d naming the variable", code, errs, ExitUsage)
	}
}
