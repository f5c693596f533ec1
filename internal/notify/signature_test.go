package notify_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// With two secrets configured (a rotation), every request, retries
// included, verifies for a receiver that holds only the old secret and for
// one that holds only the new: the receiver can switch at any time.
func TestSignaturesDuringRotation(t *testing.T) {
	s := newStack(t)
	// The receiver still holds the old secret; the first two attempts fail.
	rc := newReceiver(t, secretOld, func(n int, _ *http.Request) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	sub := subscriber("onboarding", rc.srv.URL)
	sub.Secrets = []string{secretOld, secretNew}
	s.run(t, sub)
	id := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "three attempts", func() bool { return len(rc.requests()) == 3 })
	s.waitSettled(t, "onboarding")

	onlyNew, err := standardwebhooks.NewWebhook(secretNew)
	if err != nil {
		t.Fatal(err)
	}
	other, err := standardwebhooks.NewWebhook("whsec_" + "c29tZW9uZS1lbHNlcy1zZWNyZXQtMDEyMzQ1Njc4OWFi")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rc.requests() {
		if r.verified != nil {
			t.Errorf("attempt %d: a receiver with only the old secret rejects it: %v", i+1, r.verified)
		}
		if err := onlyNew.Verify(r.body, r.header); err != nil {
			t.Errorf("attempt %d: a receiver with only the new secret rejects it: %v", i+1, err)
		}
		if other.Verify(r.body, r.header) == nil {
			t.Errorf("attempt %d: a receiver with an unrelated secret accepts it", i+1)
		}
		sigs := strings.Split(r.header.Get("webhook-signature"), " ")
		if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") || sigs[0] == sigs[1] {
			t.Errorf("attempt %d: webhook-signature %q, want two distinct space-separated v1 signatures", i+1, r.header.Get("webhook-signature"))
		}
		ts, err := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
		if err != nil {
			t.Errorf("attempt %d: webhook-timestamp %q: %v", i+1, r.header.Get("webhook-timestamp"), err)
		} else if d := r.at.Sub(time.Unix(ts, 0)); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("attempt %d: webhook-timestamp %d is %s away from the request's arrival %d", i+1, ts, d, r.at.Unix())
		}
		if got := r.header.Get("webhook-id"); got != id {
			t.Errorf("attempt %d: webhook-id %q, want the CloudEvent id %q (the same on every attempt)", i+1, got, id)
		}
	}
}
