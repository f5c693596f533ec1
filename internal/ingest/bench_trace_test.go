package ingest_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/tracing"
)

// BenchmarkHandlerPersonaTraced is [BenchmarkHandlerPersona] with tracing on:
// a server span per request, sampled, batched into an in-memory exporter
// (emptied as it goes), and the traceparent header for the stored webhook.
// The difference to BenchmarkHandlerPersona is what tracing costs per webhook.
func BenchmarkHandlerPersonaTraced(b *testing.B) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(exp, config.Tracing{SampleRatio: 1}, "bench")
	defer func() { _ = tp.Shutdown(context.Background()) }()
	benchHandlerPersona(b, tracing.New(tp), exp.Reset)
}
