package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

func newTracedService(t testing.TB, st store, tr *tracing.Tracer) *ingest.Service {
	t.Helper()
	sources := []config.Source{{Name: "persona", Vendor: "persona",
		Auth: webhookauth.Config{Type: "persona", Secrets: []string{secret}}}}
	svc, err := ingest.New(ingest.Options{Config: config.Default().Ingest, Sources: sources, Store: st, Ready: st,
		Log: zap.NewNop(), Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func spanAttrs(sp sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range sp.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// TestTracedRequestSpans: each webhook request is one server span whose
// attributes say the source, vendor, outcome and status, never a header
// value or the body; the stored webhook carries the span's lowercase
// traceparent. An unknown source name (the caller's text) is not recorded.
func TestTracedRequestSpans(t *testing.T) {
	cases := []struct {
		name    string
		req     func() *http.Request
		storeEr error
		want    map[string]string
		error   bool
	}{
		{"accepted", func() *http.Request { return signedRequest(body("evt_t1")) }, nil,
			map[string]string{"idvbus.outcome": "accepted", "http.response.status_code": "200", "idvbus.source": "persona",
				"idvbus.vendor": "persona", "idvbus.msg_id": "persona:evt_t1"}, false},
		{"bad signature", func() *http.Request {
			r := signedRequest(body("evt_t2"))
			r.Header.Set("Persona-Signature", "t=1,v1=00")
			return r
		}, nil, map[string]string{"idvbus.outcome": "unauthorized", "http.response.status_code": "401", "idvbus.source": "persona"}, false},
		{"unknown source", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/webhooks/secret-probe-name", strings.NewReader("{}"))
		}, nil, map[string]string{"idvbus.outcome": "unknown_source", "http.response.status_code": "404", "idvbus.source": ""}, false},
		{"store down", func() *http.Request { return signedRequest(body("evt_t3")) }, errors.New("nats: timeout"),
			map[string]string{"idvbus.outcome": "unavailable", "http.response.status_code": "503", "idvbus.msg_id": "persona:evt_t3"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			st := &fakeStore{err: tc.storeEr}
			h := newTracedService(t, st, tracing.New(tp)).Handler()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req())
			spans := rec.Ended()
			if len(spans) != 1 || spans[0].Name() != "POST /webhooks/{source}" || spans[0].SpanKind() != trace.SpanKindServer {
				t.Fatalf("spans %v", spans)
			}
			got := spanAttrs(spans[0])
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all %v)", k, got[k], v, got)
				}
			}
			for k, v := range got {
				if strings.Contains(v, "secret-probe") || strings.Contains(v, "v1=") || strings.Contains(v, "inquiry") {
					t.Errorf("attribute %s records request content: %q", k, v)
				}
			}
			if isErr := spans[0].Status().Code.String() == "Error"; isErr != tc.error {
				t.Errorf("span status %v", spans[0].Status())
			}
			if tc.name == "accepted" {
				sc := spans[0].SpanContext()
				want := fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID())
				if hdr := st.msgs[0].Header; len(hdr) != 1 || len(hdr["traceparent"]) != 1 || hdr["traceparent"][0] != want {
					t.Fatalf("stored header %v, want only traceparent %s", hdr, want)
				}
			}
		})
	}
}

// TestUntracedStoresNoHeader: with tracing off nothing is added to the
// stored webhook, even when the vendor sends a traceparent.
func TestUntracedStoresNoHeader(t *testing.T) {
	st := &fakeStore{}
	h := newTracedService(t, st, nil).Handler()
	r := signedRequest(body("evt_off"))
	r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || st.count() != 1 {
		t.Fatalf("%d, stored %d", w.Code, st.count())
	}
	if h := st.msgs[0].Header; h != nil {
		t.Fatalf("stored extra headers %v with tracing off", h)
	}
}
