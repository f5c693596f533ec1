package app

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// HeaderRoom is what a stored webhook may need beyond its body: the Idv-*
// headers and the Nats-Msg-Id are well under 1 KiB; 8 KiB leaves a margin.
const HeaderRoom = 8 << 10

// ErrMaxPayload is returned when the NATS server cannot store a webhook of the
// configured maximum size.
var ErrMaxPayload = errors.New("NATS max_payload is too small for ingest.max_body_bytes")

// Ingest runs the ingest service on an open NATS connection until ctx ends:
// webhooks on ls.Webhooks (nil: cfg.Ingest.Listen), /metrics and the
// detailed /readyz on ls.Ops (nil: cfg.Ingest.OpsListen).
//
// It serves at once (so /healthz answers) and sets up the JetStream topology
// in the background; until that is done /readyz answers 503 and webhooks get
// 503 with Retry-After. It returns after a graceful shutdown, or with the
// first fatal error.
func Ingest(ctx context.Context, cfg config.Config, nc *nats.Conn, ls Listeners, log *zap.Logger) error {
	return run(ctx, cfg, nc, ls, log, parts{ingest: true})
}

// IngestService is the stand-alone ingest: it connects to cfg.NATS and runs
// [Ingest] until ctx ends, then closes the connection.
func IngestService(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	return standAlone(ctx, cfg, log, "idvbus-ingest", Ingest)
}

// Normalizer runs the normalizer on an open NATS connection until ctx ends,
// serving /healthz, /readyz and /metrics on ls.Ops (nil: cfg.Normalizer.Listen).
func Normalizer(ctx context.Context, cfg config.Config, nc *nats.Conn, ls Listeners, log *zap.Logger) error {
	return run(ctx, cfg, nc, ls, log, parts{normalizer: true})
}

// NormalizerService is the stand-alone normalizer: it connects to cfg.NATS
// and runs [Normalizer] until ctx ends, then closes the connection.
func NormalizerService(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	return standAlone(ctx, cfg, log, "idvbus-normalizer", Normalizer)
}

// Notifier runs the notifier on an open NATS connection until ctx ends,
// serving /healthz, /readyz and /metrics on ls.Ops (nil: cfg.Notifier.Listen).
func Notifier(ctx context.Context, cfg config.Config, nc *nats.Conn, ls Listeners, log *zap.Logger) error {
	return run(ctx, cfg, nc, ls, log, parts{notifier: true})
}

// NotifierService is the stand-alone notifier: it connects to cfg.NATS and
// runs [Notifier] until ctx ends, then closes the connection.
func NotifierService(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	return standAlone(ctx, cfg, log, "idvbus-notifier", Notifier)
}

// standAlone connects to cfg.NATS as client, runs service on the connection
// until ctx ends, then closes it: the shape of every stand-alone service.
func standAlone(ctx context.Context, cfg config.Config, log *zap.Logger, client string,
	service func(context.Context, config.Config, *nats.Conn, Listeners, *zap.Logger) error) error {
	nc, err := bus.Connect(cfg.NATS, client, log.Named("nats-client"))
	if err != nil {
		return err
	}
	defer nc.Close()
	return service(ctx, cfg, nc, Listeners{}, log)
}
