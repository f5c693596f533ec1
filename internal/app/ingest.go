package app

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/pkg/bus"
	"github.com/idvbus/idvbus/pkg/config"
	"github.com/idvbus/idvbus/pkg/ingest"
)

// HeaderRoom is what a stored webhook may need beyond its body: the Idv-*
// headers and the Nats-Msg-Id are well under 1 KiB; 8 KiB leaves a margin.
const HeaderRoom = 8 << 10

// ErrMaxPayload is returned when the NATS server cannot store a webhook of the
// configured maximum size.
var ErrMaxPayload = errors.New("NATS max_payload is too small for ingest.max_body_bytes")

// Ingest runs the ingest service on an open NATS connection until ctx ends.
// ln is where it serves HTTP; nil listens on cfg.Ingest.Listen.
//
// It serves at once (so /healthz answers) and sets up the JetStream topology
// in the background; until that is done /readyz answers 503 and webhooks get
// 503 with Retry-After. It returns after a graceful shutdown, or with the
// first fatal error.
func Ingest(ctx context.Context, cfg config.Config, nc *nats.Conn, ln net.Listener, log *zap.Logger) error {
	b, err := bus.New(nc, cfg.JetStream, log.Named("bus"))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics()
	if err := metrics.Register(reg); err != nil {
		return err
	}
	svc, err := ingest.New(ingest.Options{
		Config: cfg.Ingest, Sources: cfg.Sources, Store: b, Ready: b,
		Log: log.Named("ingest"), Metrics: metrics,
	})
	if err != nil {
		return err
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Ingest.Listen); err != nil {
			return fmt.Errorf("ingest.listen: %w", err)
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if err := b.EnsureTopologyRetrying(ctx); err != nil {
			return // ctx ended first
		}
		if mp := b.MaxPayload(); mp > 0 && mp < cfg.Ingest.MaxBodyBytes+HeaderRoom {
			cancel(fmt.Errorf("%w: the server accepts %d bytes, ingest needs %d (max_body_bytes %d + %d for headers): raise max_payload on the server or lower ingest.max_body_bytes",
				ErrMaxPayload, mp, cfg.Ingest.MaxBodyBytes+HeaderRoom, cfg.Ingest.MaxBodyBytes, HeaderRoom))
			return
		}
		log.Info("jetstream topology ready", zap.String("server", b.ServerURL()),
			zap.Strings("sources", sourceNames(cfg.Sources)))
	}()
	err = svc.Serve(ctx, ln, svc.Handler(reg))
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func sourceNames(sources []config.Source) []string {
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	return names
}

// IngestService is the stand-alone ingest: it connects to cfg.NATS and runs
// [Ingest] until ctx ends, then closes the connection.
func IngestService(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	nc, err := bus.Connect(cfg.NATS, "idvbus-ingest", log.Named("nats-client"))
	if err != nil {
		return err
	}
	defer nc.Close()
	return Ingest(ctx, cfg, nc, nil, log)
}
