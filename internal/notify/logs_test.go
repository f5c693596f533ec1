package notify_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// TestLogsNeverCarryBodiesSecretsOrURLs: a retried, then dead-lettered
// delivery logs the subscriber, event id and attempt, and none of the
// event's data, the signing secret or the subscriber URL's credentials.
func TestLogsNeverCarryBodiesSecretsOrURLs(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, func(n int, _ *http.Request) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusBadRequest
	})
	u, _ := url.Parse(rc.srv.URL)
	u.User = url.UserPassword("hook-user", "hook-pass-s3cr3t")
	u.Path = "/idv"
	u.RawQuery = "token=query-t0ken"
	core, logs := observer.New(zapcore.DebugLevel)
	s.runLogged(t, zap.New(core), subscriber("onboarding", u.String()))
	id := s.publish(t, "persona", "inq_private_42", idv.StatusApproved, 1)
	natstest.Eventually(t, 10*time.Second, "a dead letter", func() bool { return len(s.dlq(t, "onboarding")) == 1 })

	var sawRetry, sawDead bool
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			if k != "event_id" { // the test's ids contain the verification id; real ones are hashes
				line += " " + k + "=" + fmt.Sprint(v)
			}
		}
		for _, secret := range []string{"inq_private_42", `"verification_id"`, `"status"`, "hook-pass-s3cr3t", "hook-user",
			"query-t0ken", strings.TrimPrefix(secretNew, "whsec_"), rc.srv.URL} {
			if strings.Contains(line, secret) {
				t.Errorf("log line carries %q: %s", secret, line)
			}
		}
		f := e.ContextMap()
		if f["subscriber"] == "onboarding" && f["event_id"] == id && f["attempt"] != nil {
			sawRetry = sawRetry || e.Message == "delivery failed; will retry"
		}
		if e.Message == "event dead-lettered" && f["subscriber"] == "onboarding" && f["event_id"] == id {
			sawDead = true
		}
	}
	if !sawRetry || !sawDead {
		t.Fatalf("want a retry line and a dead-letter line naming subscriber, event id and attempt; retry %v, dead %v", sawRetry, sawDead)
	}
}
