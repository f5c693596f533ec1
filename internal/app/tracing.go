package app

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/tracing"
)

// tracingFlushTimeout bounds the export of the spans still buffered when a
// process stops: a collector that is down must not hold up a shutdown.
const tracingFlushTimeout = 5 * time.Second

// serviceName is the default service.name of a process's spans.
func (p parts) serviceName() string {
	switch {
	case p.ingest && p.normalizer && p.notifier:
		return "idvbus"
	case p.ingest:
		return "idvbus-ingest"
	case p.normalizer:
		return "idvbus-normalizer"
	default:
		return "idvbus-notifier"
	}
}

// startTracing returns the process's tracer (nil: tracing off) and the
// function that flushes and stops it, to be called once the services have
// stopped. p.tracer, when set (tests), is used as it is.
func startTracing(ctx context.Context, cfg config.Tracing, p parts, log *zap.Logger) (*tracing.Tracer, func(), error) {
	if p.tracer != nil {
		return p.tracer, func() {}, nil
	}
	t, shutdown, err := tracing.Setup(ctx, cfg, p.serviceName())
	if err != nil || t == nil {
		return nil, func() {}, err
	}
	log.Info("tracing on: spans are exported by OTLP/HTTP", zap.String("url", cfg.TracesURL()),
		zap.Float64("sample_ratio", cfg.SampleRatio))
	return t, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingFlushTimeout)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("tracing: spans not exported at shutdown", zap.Error(err))
		}
	}, nil
}
