package notify_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/sdk/idv"
)

// In binary format the body is the event's data exactly, the attributes are
// ce-* headers, and the signature covers that body.
func TestDeliversBinaryFormat(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, nil)
	sub := subscriber("onboarding", rc.srv.URL)
	sub.Format = notify.FormatBinary
	s.run(t, sub)
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "a delivery", func() bool { return len(rc.requests()) == 1 })
	s.waitSettled(t, "onboarding")

	ev := s.event(t, id)
	e, err := idv.FromNATS(ev.Header, ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	r := rc.requests()[0]
	if r.verified != nil {
		t.Fatalf("reference library rejects our signature: %v", r.verified)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.Equal(r.body, e.Data()) {
		t.Errorf("body is not the event's data:\n got %s\nwant %s", r.body, e.Data())
	}
	for h, want := range map[string]string{
		"ce-id": id, "ce-type": idv.TypeVerificationUpdated, "ce-source": e.Source(),
		"ce-subject": "inq_1", "ce-specversion": "1.0", "webhook-id": id,
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if e.Source() != "/sources/persona" {
		t.Errorf("event source %q", e.Source())
	}
}
