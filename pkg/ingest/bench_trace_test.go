package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idvbus/idvbus/pkg/config"
	"github.com/idvbus/idvbus/pkg/tracing"
)

// BenchmarkHandlerPersonaTraced is [BenchmarkHandlerPersona] with tracing on:
// a server span per request, sampled, batched into an in-memory exporter
// (emptied as it goes), and the traceparent header for the stored webhook.
// The difference to BenchmarkHandlerPersona is what tracing costs per webhook.
func BenchmarkHandlerPersonaTraced(b *testing.B) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(exp, config.Tracing{SampleRatio: 1}, "bench")
	defer func() { _ = tp.Shutdown(context.Background()) }()
	h := newTracedService(b, nopStore{}, tracing.New(tp)).Handler(nil)
	bodies := make([][]byte, 1024)
	sigs := make([]string, len(bodies))
	for i := range bodies {
		bodies[i] = body(fmt.Sprintf("evt_bench_%d", i))
		sigs[i] = signedRequest(bodies[i]).Header.Get("Persona-Signature")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bodies)
		if j == 0 {
			exp.Reset()
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/persona", bytesReader(bodies[j]))
		r.Header.Set("Persona-Signature", sigs[j])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("got %d", w.Code)
		}
	}
}
