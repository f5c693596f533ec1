package normalize

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/tracing"
)

// spanName is the name of the span of one webhook's processing.
const spanName = "normalize"

// process is [Normalizer.handle] inside a consumer span when tracing is on:
// a child of the trace context stored with the raw webhook (ingest's
// request span), so a webhook's trace runs from the vendor's request to
// every delivery of its events. The span records the source, vendor, raw
// dedup key, stream sequence, delivery count, vendor event name, outcome and
// events published; never the verification id, a reference id or the body.
func (n *Normalizer) process(ctx context.Context, j *job) {
	t := n.o.Tracer
	if !t.Enabled() {
		n.handle(ctx, j)
		return
	}
	h := j.m.Header()
	source := j.src.name
	if source == "" {
		source = safeName(first(h[bus.HeaderSource]))
	}
	ctx, span := t.Start(t.ExtractNATS(ctx, h), spanName, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			tracing.AttrSource.String(source), tracing.AttrVendor.String(j.vendor),
			tracing.AttrMsgID.String(first(h[bus.HeaderMsgID])),
			tracing.AttrStreamSeq.Int64(int64(j.m.StreamSeq)), tracing.AttrDelivery.Int64(int64(j.m.NumDelivered)),
			tracing.AttrVendorEvent.String(safeName(j.report.Event)),
		))
	defer span.End()
	n.handle(ctx, j)
	span.SetAttributes(tracing.AttrOutcome.String(j.outcome), tracing.AttrEvents.Int(j.events))
	switch j.outcome {
	case OutcomeDeadLettered:
		span.SetAttributes(tracing.AttrDeadLettered.String(j.deadClass))
		span.SetStatus(codes.Error, "dead-lettered: "+j.deadClass)
	case OutcomeRetried:
		span.SetStatus(codes.Error, "not normalized; will retry")
	}
}

// count counts a webhook's outcome in idvbus_normalizer_messages_total and
// remembers it for its span.
func (n *Normalizer) count(j *job, outcome string) {
	j.outcome = outcome
	n.o.Metrics.messages.WithLabelValues(j.vendor, outcome).Inc()
}
