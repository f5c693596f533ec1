package ctl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// TestSubscriberResume: a subscriber disabled after a 410 Gone shows in
// idvctl status and subscriber list; subscriber resume removes the mark, and
// resuming one that is not disabled says so with exit 3.
func TestSubscriberResume(t *testing.T) {
	srv := natstest.RunJS(t)
	b := srv.Bus(t, config.Default().JetStream)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := b.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mark := `{"disabled_at":"2026-12-01T10:00:00Z","status":410,"event_id":"evt_1","stream_seq":7}`
	if err := store.PutDisabled(ctx, "onboarding", []byte(mark)); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		return idvctl(t, nil, append([]string{"--nats", srv.URL()}, args...)...)
	}

	code, out, errs := run("status")
	if code != ExitOK || !strings.Contains(out, "disabled subscribers (answered 410 Gone):\n  onboarding") ||
		!strings.Contains(out, "idvctl subscriber resume onboarding") {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run("status", "--json")
	var res statusResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || len(res.Disabled) != 1 ||
		res.Disabled[0].Name != "onboarding" || res.Disabled[0].EventID != "evt_1" || res.Disabled[0].Status != 410 {
		t.Fatalf("status --json: exit %d, %+v\n%s", code, res.Disabled, out)
	}
	if code, out, _ := run("subscriber", "list"); code != ExitOK || !strings.Contains(out, "onboarding") {
		t.Fatalf("subscriber list: exit %d\n%s", code, out)
	}

	if code, out, errs := run("subscriber", "resume", "onboarding"); code != ExitOK || !strings.Contains(out, "resumed onboarding") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errs)
	}
	if m, _, err := store.GetDisabled(ctx, "onboarding"); err != nil || m != nil {
		t.Fatalf("mark after resume: %s, %v", m, err)
	}
	if code, out, _ := run("status"); code != ExitOK || !strings.Contains(out, "disabled subscribers (answered 410 Gone):\n  (none)") {
		t.Fatalf("status after resume: exit %d\n%s", code, out)
	}
	if code, _, errs := run("subscriber", "resume", "onboarding"); code != ExitNotFound || !strings.Contains(errs, "not disabled") {
		t.Fatalf("resume again: exit %d, %s", code, errs)
	}
	if code, _, _ := run("subscriber", "resume", "Bad Name"); code != ExitUsage {
		t.Fatalf("resume with a bad name: exit %d", code)
	}
}
