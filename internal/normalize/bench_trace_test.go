package normalize_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/tracing"
)

// BenchmarkNormalizerTraced is BenchmarkNormalizer/workers=16 with tracing
// on: a span per webhook, sampled and batched into an in-memory exporter,
// and a traceparent header on every event published. (The raw webhooks
// carry no trace context here, so each span starts a trace.)
func BenchmarkNormalizerTraced(b *testing.B) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(exp, config.Tracing{SampleRatio: 1}, "bench")
	defer func() { _ = tp.Shutdown(context.Background()) }()
	benchNormalizer(b, 16, tracing.New(tp))
}
