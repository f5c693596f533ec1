package ingest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// notReady is a store whose readiness fails with a reason that must stay
// inside: it names a host.
type notReady struct {
	fakeStore
	err error
}

func (n *notReady) Ready(context.Context) error { return n.err }

func newReadyService(t *testing.T, readyErr error) *ingest.Service {
	t.Helper()
	st := &notReady{err: readyErr}
	svc, err := ingest.New(ingest.Options{Config: config.Default().Ingest,
		Sources: []config.Source{{Name: "persona", Vendor: "persona", Auth: webhookauth.Config{Type: "persona", Secrets: []string{secret}}}}, Store: st, Ready: st, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func get(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Content-Type"), string(b)
}

// TestWebhookPortServesWebhooksOnly: the public port answers 404 on
// /metrics and anything but the webhook route and the two bare probes.
func TestWebhookPortServesWebhooksOnly(t *testing.T) {
	h := newReadyService(t, nil).Handler()
	for _, path := range []string{"/metrics", "/debug/pprof/", "/v1/verifications", "/"} {
		if code, _, _ := get(t, h, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	if code, _, body := get(t, h, "/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
}

// TestBareReadyzNeverSaysWhy: the load balancers' /readyz is 200 "ok" or
// 503 "unavailable"; the reason (here a NATS host name) never reaches the
// internet, and shutting down is unavailable too.
func TestBareReadyzNeverSaysWhy(t *testing.T) {
	if code, ctype, body := get(t, newReadyService(t, nil).Handler(), "/readyz"); code != http.StatusOK || body != "ok\n" || !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("ready: %d %q %q, want 200 \"ok\\n\" text/plain", code, ctype, body)
	}
	reason := errors.New("nats: no servers available for connection: nats-internal.corp.example:4222")
	svc := newReadyService(t, reason)
	code, _, body := get(t, svc.Handler(), "/readyz")
	if code != http.StatusServiceUnavailable || body != "unavailable\n" {
		t.Errorf("not ready: %d %q, want 503 \"unavailable\\n\"", code, body)
	}
	if err := svc.Ready(context.Background()); !errors.Is(err, reason) {
		t.Errorf("Ready = %v, want the reason for the ops listener", err)
	}
}
