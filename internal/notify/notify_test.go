package notify_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

func TestDeliversSignedStructuredEvent(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, nil)
	s.run(t, subscriber("onboarding", rc.srv.URL))
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)

	natstest.Eventually(t, 10*time.Second, "a delivery", func() bool { return len(rc.requests()) == 1 })
	natstest.Eventually(t, 10*time.Second, "the ack", func() bool { return s.settled(t, "onboarding") })
	r := rc.requests()[0]
	if r.verified != nil {
		t.Fatalf("reference library rejects our signature: %v", r.verified)
	}
	if got := r.header.Get("webhook-id"); got != id {
		t.Fatalf("webhook-id %q, want the CloudEvent id %q", got, id)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var ev struct {
		ID, Type, Source, Subject string
		Data                      idv.VerificationUpdated
	}
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != id || ev.Type != string(idv.TypeVerificationUpdated) || ev.Source != "/sources/persona" || ev.Subject != "inq_1" ||
		ev.Data.Status != idv.StatusApproved || ev.Data.VerificationID != "inq_1" {
		t.Fatalf("body %+v", ev)
	}
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Fatalf("%d dead letters", len(d))
	}
}

func TestRetriesServerErrorThenDelivers(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, func(n int, _ *http.Request) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s.run(t, subscriber("onboarding", rc.srv.URL))
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "three attempts", func() bool { return len(rc.requests()) == 3 })
	natstest.Eventually(t, 10*time.Second, "the ack", func() bool { return s.settled(t, "onboarding") })
	for i, got := range rc.ids() {
		if got != id {
			t.Fatalf("attempt %d webhook-id %q, want %q (stable across retries)", i+1, got, id)
		}
	}
	if d := s.dlq(t, "onboarding"); len(d) != 0 {
		t.Fatalf("%d dead letters", len(d))
	}
}

func TestRejectedGoesToDLQAtOnce(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, func(int, *http.Request) int { return http.StatusBadRequest })
	s.run(t, subscriber("onboarding", rc.srv.URL))
	s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "a dead letter", func() bool { return len(s.dlq(t, "onboarding")) == 1 })
	d := s.dlq(t, "onboarding")[0]
	if got := d.Header.Get(bus.HeaderAttempts); got != "1" {
		t.Fatalf("Idv-Attempts %q", got)
	}
	if got := d.Header.Get("Idv-Last-Status"); got != "400" {
		t.Fatalf("Idv-Last-Status %q", got)
	}
	if len(rc.requests()) != 1 {
		t.Fatalf("%d attempts, want 1", len(rc.requests()))
	}
	t.Logf("Idv-Error: %s", d.Header.Get(bus.HeaderError))
}
