// Package tracing carries OpenTelemetry trace context through idvbus: from
// the vendor's HTTP request, through the raw webhook in IDV_RAW and the
// CloudEvents in IDV_EVENTS, to each delivery attempt to a subscriber
// (docs/tracing.md).
//
// Tracing is off unless configured: a nil [*Tracer] is the off switch, every
// method on it returns at once, makes no span and writes no header, so the
// services' hot paths cost what they cost without tracing.
//
// Trace context travels as the W3C `traceparent` and `tracestate` headers,
// spelled in lower case in NATS messages (nats.Header is case-sensitive, so
// the spelling is part of the contract for non-Go consumers). Baggage is
// not propagated: a vendor's request must not put arbitrary values into
// what subscribers receive.
package tracing

import (
	"context"
	"net/http"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of idvbus's spans.
const ScopeName = "github.com/idvbus/idvbus"

// The W3C Trace Context headers, exactly as written to NATS messages.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Tracer starts idvbus's spans and moves their context in and out of NATS
// and HTTP headers. It is safe for concurrent use. A nil *Tracer is tracing
// off.
type Tracer struct {
	tracer trace.Tracer
	prop   propagation.TraceContext
}

// New returns a Tracer that records with tp ([Setup] builds one from the
// config; tests pass an SDK provider with an in-memory recorder).
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{tracer: tp.Tracer(ScopeName)}
}

// Enabled reports whether tracing is on (t is not nil).
func (t *Tracer) Enabled() bool { return t != nil }

// Start starts a span as a child of the span in ctx, if any. Off, it returns
// ctx and a span that records nothing. Callers on a hot path check
// [Tracer.Enabled] first, so they do not build attributes for nothing.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.tracer.Start(ctx, name, opts...)
}

// ExtractNATS returns ctx with the remote span context that h carries
// (traceparent, tracestate), or ctx unchanged when it carries none or
// tracing is off.
func (t *Tracer) ExtractNATS(ctx context.Context, h nats.Header) context.Context {
	if t == nil || len(h) == 0 {
		return ctx
	}
	return t.prop.Extract(ctx, NATSCarrier(h))
}

// InjectNATS writes the trace context of ctx's span into h, as lowercase
// traceparent (and tracestate when there is one). It writes nothing when
// tracing is off or ctx holds no valid span. h must not be nil.
func (t *Tracer) InjectNATS(ctx context.Context, h nats.Header) {
	if t == nil {
		return
	}
	t.prop.Inject(ctx, NATSCarrier(h))
}

// NATSHeader returns a new header holding the trace context of ctx's span,
// or nil when tracing is off or there is no valid span.
func (t *Tracer) NATSHeader(ctx context.Context) nats.Header {
	if t == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	h := make(nats.Header, 2)
	t.InjectNATS(ctx, h)
	return h
}

// ExtractHTTP returns ctx with the remote span context of an HTTP request's
// headers, or ctx unchanged.
func (t *Tracer) ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	if t == nil {
		return ctx
	}
	return t.prop.Extract(ctx, propagation.HeaderCarrier(h))
}

// InjectHTTP writes the trace context of ctx's span into an outgoing HTTP
// request's headers (HTTP header names are case-insensitive).
func (t *Tracer) InjectHTTP(ctx context.Context, h http.Header) {
	if t == nil {
		return
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}
