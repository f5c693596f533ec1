package notify_test

import (
	"bytes"
	"encoding/json"
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
	if !bytes.Equal(r.body, e.Data) {
		t.Errorf("body is not the event's data:\n got %s\nwant %s", r.body, e.Data)
	}
	for h, want := range map[string]string{
		"ce-id": id, "ce-type": string(idv.TypeVerificationUpdated), "ce-source": e.Source,
		"ce-subject": "inq_1", "ce-specversion": "1.0", "webhook-id": id,
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if e.Source != "/sources/persona" {
		t.Errorf("event source %q", e.Source)
	}
}

// TestHeadersPercentEncoded: a verification id with a space, a double
// quote, "%" and non-ASCII reaches a binary-mode subscriber percent-encoded
// in Ce-Subject, as the CloudEvents HTTP binding requires (sdk-go's writer
// alone would send it raw), and a structured-mode one as it is, in JSON.
func TestHeadersPercentEncoded(t *testing.T) {
	const verification = `inq 1 "50%" Zoë`
	for _, format := range []string{notify.FormatBinary, notify.FormatStructured} {
		t.Run(format, func(t *testing.T) {
			s := newStack(t)
			rc := newReceiver(t, secretNew, nil)
			sub := subscriber("onboarding", rc.srv.URL)
			sub.Format = format
			s.run(t, sub)
			s.publishID(t, "evt-1", "persona", verification, idv.StatusApproved, 1)
			natstest.Eventually(t, 10*time.Second, "a delivery", func() bool { return len(rc.requests()) == 1 })
			r := rc.requests()[0]
			if format == notify.FormatStructured {
				var ev struct{ Subject string }
				if err := json.Unmarshal(r.body, &ev); err != nil || ev.Subject != verification {
					t.Fatalf("structured subject %q (%v), want %q", ev.Subject, err, verification)
				}
				return
			}
			const want = "inq%201%20%2250%25%22%20Zo%C3%AB"
			if got := r.header.Get("Ce-Subject"); got != want {
				t.Fatalf("Ce-Subject %q, want %q", got, want)
			}
			if got := r.header.Get("Ce-Id"); got != "evt-1" || r.header.Get("webhook-id") != "evt-1" {
				t.Fatalf("ids changed: Ce-Id %q, webhook-id %q", got, r.header.Get("webhook-id"))
			}
			if got, err := idv.DecodeHeaderValue(r.header.Get("Ce-Subject")); err != nil || got != verification {
				t.Fatalf("decoded %q, %v; want %q", got, err, verification)
			}
		})
	}
}
