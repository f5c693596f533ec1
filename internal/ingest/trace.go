package ingest

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/idvbus/idvbus/internal/tracing"
)

// webhookRoute is the route of the webhook endpoint, the name of its spans.
const webhookRoute = "/webhooks/{source}"

// outcomeStatus is the HTTP status each outcome is answered with.
var outcomeStatus = map[string]int{
	OutcomeAccepted: http.StatusOK, OutcomeDuplicate: http.StatusOK,
	OutcomeUnauthorized: http.StatusUnauthorized, OutcomeUnknownSource: http.StatusNotFound,
	OutcomeTooLarge: http.StatusRequestEntityTooLarge, OutcomeEmptyBody: http.StatusBadRequest,
	OutcomeBadRequest: http.StatusBadRequest, OutcomeUnavailable: http.StatusServiceUnavailable,
	OutcomeOverloaded: http.StatusServiceUnavailable, OutcomeBadFraming: http.StatusBadRequest,
}

// webhookHandler is POST /webhooks/{source}. With tracing on, each request
// is a server span (a child of the caller's traceparent, if it sent one)
// whose context the stored raw webhook carries; off, it is handleWebhook
// itself, at no cost.
func (s *Service) webhookHandler() http.Handler {
	if !s.tracer.Enabled() {
		return http.HandlerFunc(s.handleWebhook)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attrs := make([]attribute.KeyValue, 0, 4)
		attrs = append(attrs, tracing.AttrHTTPMethod.String(r.Method), tracing.AttrHTTPRoute.String(webhookRoute))
		// An unknown source name is the caller's text: it is not recorded.
		if name := r.PathValue("source"); name != "" {
			if src, ok := s.sources[name]; ok {
				attrs = append(attrs, tracing.AttrSource.String(name), tracing.AttrVendor.String(src.vendor.Name()))
			}
		}
		ctx := s.tracer.ExtractHTTP(r.Context(), r.Header)
		ctx, span := s.tracer.Start(ctx, r.Method+" "+webhookRoute,
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		s.handleWebhook(w, r.WithContext(ctx))
	})
}

// traceOutcome records a request's outcome, its HTTP status and, once
// known, its raw dedup key on the request's span (nothing when tracing is off).
func (s *Service) traceOutcome(ctx context.Context, outcome, msgID string) {
	if !s.tracer.Enabled() {
		return
	}
	span := trace.SpanFromContext(ctx)
	status := outcomeStatus[outcome]
	span.SetAttributes(tracing.AttrOutcome.String(outcome), tracing.AttrHTTPStatus.Int(status))
	if msgID != "" {
		span.SetAttributes(tracing.AttrMsgID.String(msgID))
	}
	if status >= 500 {
		// Server spans are errors on 5xx only (OpenTelemetry HTTP conventions):
		// a 4xx is the caller's problem.
		span.SetStatus(codes.Error, outcome)
	}
}
