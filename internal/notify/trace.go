package notify

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/tracing"
)

// attemptSpanName is the name of the span of one delivery attempt.
const attemptSpanName = "deliver"

// startAttempt starts the span of one delivery attempt when tracing is on: a
// client span, child of the trace context the event carries (the
// normalizer's span), so every attempt of an event, retries included, is in
// the trace of the vendor's webhook. It writes the attempt's traceparent
// into hdr, the request's headers. Off, it returns ctx and a nil span and
// touches nothing.
func (d *deliverer) startAttempt(ctx context.Context, m *bus.Msg, id, typ string, attempt int, hdr http.Header) (context.Context, *attemptSpan) {
	t := d.o.Tracer
	if !t.Enabled() {
		return ctx, nil
	}
	ctx, span := t.Start(t.ExtractNATS(ctx, m.Header()), attemptSpanName, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			tracing.AttrSubscriber.String(d.cfg.Name), tracing.AttrAttempt.Int(attempt),
			tracing.AttrEventID.String(id), tracing.AttrEventType.String(typ),
			tracing.AttrStreamSeq.Int64(int64(m.StreamSeq)), tracing.AttrHTTPMethod.String(http.MethodPost),
		))
	t.InjectHTTP(ctx, hdr)
	return ctx, &attemptSpan{span}
}

// attemptSpan is the span of one attempt; its methods do nothing on nil
// (tracing off). It records the status and outcome class of the answer,
// and, through ctx, the delay before a retry ([traceRetryIn]) and why an
// event was dead-lettered ([traceDeadLetter]); never the subscriber's URL,
// the body or a header value.
type attemptSpan struct{ span trace.Span }

// answered records what the attempt got.
func (a *attemptSpan) answered(out outcome) {
	if a == nil {
		return
	}
	a.span.SetAttributes(tracing.AttrOutcome.String(out.class))
	if out.status != 0 {
		a.span.SetAttributes(tracing.AttrHTTPStatus.Int(out.status))
	}
	if !out.delivered() {
		a.span.SetStatus(codes.Error, out.class)
	}
}

// traceRetryIn records on the attempt's span in ctx, if any, the delay
// before the next attempt.
func traceRetryIn(ctx context.Context, d time.Duration) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(tracing.AttrRetryIn.Int64(d.Milliseconds()))
	}
}

// traceDeadLetter records on the attempt's span in ctx, if any, why the
// event was dead-lettered (a reason label).
func traceDeadLetter(ctx context.Context, reason string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(tracing.AttrDeadLettered.String(reason))
	}
}

// end ends the span.
func (a *attemptSpan) end() {
	if a != nil {
		a.span.End()
	}
}
