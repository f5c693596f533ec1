package ingest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// A flood of forged Persona signatures is logged a few lines at a time,
// every refusal counted, while the first mismatch of another source is
// still logged.
func TestRefusalFloodDoesNotHideAnotherSource(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	store := &fakeStore{}
	svc, m := newService(t, store, func(_ *config.Ingest, s *[]config.Source) {
		*s = append(*s, config.Source{Name: "sumsub", Vendor: "sumsub",
			Auth: webhookauth.Config{Type: "hmac", Header: "X-Payload-Digest", Secrets: []string{"k"}}})
	}, zap.New(core))
	h := svc.Handler()
	const flood = 3000
	for range flood {
		r := signedRequest(body("evt_flood"))
		r.Header.Set("Persona-Signature", webhookauth.SignPersona("forged", time.Now(), body("evt_flood")))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	genuineMismatch := httptest.NewRequest(http.MethodPost, "/webhooks/sumsub", strings.NewReader(`{"a":1}`))
	sig, _ := webhookauth.SignHMAC("rotated-k", "sha256", "hex", "", []byte(`{"a":1}`))
	genuineMismatch.Header.Set("X-Payload-Digest", sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, genuineMismatch)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("mismatch answered %d", w.Code)
	}
	persona := logs.FilterField(zap.String("source", "persona")).Len()
	if persona == 0 || persona > 10 {
		t.Errorf("%d log lines for %d forged requests, want a handful", persona, flood)
	}
	lines := logs.FilterField(zap.String("source", "sumsub")).FilterField(zap.String("reason", "signature_mismatch")).All()
	if len(lines) != 1 || lines[0].LoggerName != ingest.RefusalLoggerName {
		t.Fatalf("the other source's first mismatch: %d lines %+v, want 1 from logger %q", len(lines), lines, ingest.RefusalLoggerName)
	}
	if got := testutil.ToFloat64(m.Requests().WithLabelValues("persona", ingest.OutcomeUnauthorized)); got != flood {
		t.Errorf("unauthorized counter %v, want every one of the %d refusals", got, flood)
	}
	if store.count() != 0 {
		t.Fatalf("stored %d forged webhooks", store.count())
	}
}
