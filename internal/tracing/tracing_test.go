package tracing_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/idvbus/idvbus/internal/tracing"
)

func newTracer(t *testing.T) (*tracing.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracing.New(tp), rec
}

// TestNATSCarrierKeepsLowercase: the header written to NATS is spelled
// "traceparent" exactly, and reading it back gives the same span context.
func TestNATSCarrierKeepsLowercase(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, span := tr.Start(context.Background(), "x")
	defer span.End()
	h := nats.Header{"Idv-Source": {"persona"}}
	tr.InjectNATS(ctx, h)
	if len(h["traceparent"]) != 1 || h["Traceparent"] != nil {
		t.Fatalf("headers %v: want exactly one lowercase traceparent", h)
	}
	got := trace.SpanContextFromContext(tr.ExtractNATS(context.Background(), h))
	if !got.IsRemote() || got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("extracted %v, want %v", got, span.SpanContext())
	}
}

func TestNATSCarrier(t *testing.T) {
	c := tracing.NATSCarrier(nats.Header{"Traceparent": {"canonical"}, "Other": {"x"}})
	if got := c.Get("traceparent"); got != "canonical" {
		t.Fatalf("Get any spelling: %q", got)
	}
	c.Set("traceparent", "lower")
	if _, ok := c["Traceparent"]; ok || c.Get("traceparent") != "lower" {
		t.Fatalf("Set must replace other spellings: %v", c)
	}
	if len(c.Keys()) != 2 || c.Get("missing") != "" {
		t.Fatalf("keys %v", c.Keys())
	}
}

// TestNilTracerIsOff: a nil Tracer writes no header, reads none and starts
// no span.
func TestNilTracerIsOff(t *testing.T) {
	var tr *tracing.Tracer
	if tr.Enabled() {
		t.Fatal("nil tracer enabled")
	}
	live, _ := newTracer(t)
	ctx, span := live.Start(context.Background(), "x")
	defer span.End()
	h := nats.Header{}
	tr.InjectNATS(ctx, h)
	hh := http.Header{}
	tr.InjectHTTP(ctx, hh)
	if len(h) != 0 || len(hh) != 0 || tr.NATSHeader(ctx) != nil {
		t.Fatalf("off tracer wrote %v %v", h, hh)
	}
	in := nats.Header{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	if sc := trace.SpanContextFromContext(tr.ExtractNATS(context.Background(), in)); sc.IsValid() {
		t.Fatal("off tracer extracted a context")
	}
	if _, s := tr.Start(context.Background(), "x"); s.IsRecording() {
		t.Fatal("off tracer started a recording span")
	}
}

// TestNATSHeaderNeedsASpan: without a span in ctx there is nothing to write.
func TestNATSHeaderNeedsASpan(t *testing.T) {
	tr, _ := newTracer(t)
	if h := tr.NATSHeader(context.Background()); h != nil {
		t.Fatalf("header %v without a span", h)
	}
	ctx, span := tr.Start(context.Background(), "x")
	defer span.End()
	if h := tr.NATSHeader(ctx); len(h["traceparent"]) != 1 {
		t.Fatalf("header %v", h)
	}
}
