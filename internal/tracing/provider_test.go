package tracing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/tracing"
)

// TestSetupOffStartsNothing: no endpoint, no tracer.
func TestSetupOffStartsNothing(t *testing.T) {
	tr, shutdown, err := tracing.Setup(context.Background(), config.DefaultTracing(), "idvbus")
	if err != nil || tr != nil {
		t.Fatalf("tracer %v, err %v; want nil, nil", tr, err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSetupExportsToEndpoint: with an endpoint, spans are POSTed as OTLP/HTTP
// protobuf to <endpoint>/v1/traces, named after the service.
func TestSetupExportsToEndpoint(t *testing.T) {
	type post struct {
		path, contentType string
		body              []byte
	}
	var mu sync.Mutex
	var posts []post
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, post{r.URL.Path, r.Header.Get("Content-Type"), b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	cfg := config.DefaultTracing()
	cfg.Endpoint = srv.URL + "/" // a trailing slash is fine
	tr, shutdown, err := tracing.Setup(context.Background(), cfg, "idvbus-test-service")
	if err != nil || tr == nil {
		t.Fatalf("tracer %v, err %v", tr, err)
	}
	_, span := tr.Start(context.Background(), "webhook-span-name")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(posts))
	}
	p := posts[0]
	if p.path != "/v1/traces" || p.contentType != "application/x-protobuf" {
		t.Fatalf("POST %s (%s), want /v1/traces (application/x-protobuf)", p.path, p.contentType)
	}
	for _, want := range []string{"idvbus-test-service", "webhook-span-name"} {
		if !bytes.Contains(p.body, []byte(want)) {
			t.Errorf("the export lacks %q", want)
		}
	}
}

// TestSetupServiceNameFromConfig: tracing.service_name wins over the binary's name.
func TestSetupServiceNameFromConfig(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body = append(body, b...)
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := config.Tracing{Endpoint: srv.URL, SampleRatio: 1, ServiceName: "kyc-gateway"}
	tr, shutdown, err := tracing.Setup(context.Background(), cfg, "default-service-name")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Start(context.Background(), "x")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Contains(body, []byte("kyc-gateway")) || bytes.Contains(body, []byte("default-service-name")) {
		t.Fatalf("service.name not taken from the config")
	}
}

// TestSampleRatioZeroRecordsNewTracesNot: sample_ratio 0 records no new
// trace, but a caller's sampled traceparent is followed.
func TestSampleRatioZeroRecordsNewTracesNot(t *testing.T) {
	tp := tracing.NewProvider(discard{}, config.Tracing{SampleRatio: 0}, "x")
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tracing.New(tp)
	if _, s := tr.Start(context.Background(), "new"); s.IsRecording() {
		t.Fatal("a new trace was sampled at ratio 0")
	}
	h := http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	if _, s := tr.Start(tr.ExtractHTTP(context.Background(), h), "continued"); !s.IsRecording() {
		t.Fatal("a sampled parent was not followed")
	}
}

// TestResourceCarriesServiceVersion: every span says which build made it.
func TestResourceCarriesServiceVersion(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(exp, config.Tracing{SampleRatio: 1}, "idvbus-ingest")
	_, span := tracing.New(tp).Start(context.Background(), "x")
	span.End()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	if err := tp.ForceFlush(context.Background()); err != nil { // Shutdown would empty exp
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["service.name"] != "idvbus-ingest" || attrs["service.version"] != buildinfo.Get().Version || attrs["service.version"] == "" {
		t.Fatalf("resource %v, want service.name idvbus-ingest and service.version %q", attrs, buildinfo.Get().Version)
	}
}
