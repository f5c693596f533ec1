package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/config"
)

// Setup builds what cfg describes: with tracing off (no endpoint) a nil
// Tracer and a shutdown that does nothing, and nothing is started. With an
// endpoint, a Tracer whose spans are batched and POSTed as OTLP/HTTP
// protobuf to cfg.TracesURL(), sampled at cfg.SampleRatio for new traces and
// as the parent says for continued ones. service is the service.name when
// cfg.ServiceName is empty.
//
// The exporter still reads the standard OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, _COMPRESSION and _CERTIFICATE variables (e.g. a collector's API
// key), but not the endpoint: that comes from the config alone.
//
// Call shutdown once when the process stops, after the services: it sends
// the spans still buffered, within its ctx.
func Setup(ctx context.Context, cfg config.Tracing, service string) (t *Tracer, shutdown func(context.Context) error, err error) {
	if !cfg.Enabled() {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.TracesURL()))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	tp := NewProvider(exp, cfg, service)
	return New(tp), tp.Shutdown, nil
}

// NewProvider returns the SDK provider Setup uses, batching into exp: the
// same sampler and resource (service.name, and service.version from
// internal/buildinfo), so tests can swap the exporter.
func NewProvider(exp sdktrace.SpanExporter, cfg config.Tracing, service string) *sdktrace.TracerProvider {
	if cfg.ServiceName != "" {
		service = cfg.ServiceName
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			// The build that made the span: which release a slow or failed trace belongs to.
			attribute.String("service.version", buildinfo.Get().Version),
		)),
	)
}
