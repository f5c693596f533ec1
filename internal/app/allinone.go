package app

import (
	"context"
	"net"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/pkg/bus"
	"github.com/idvbus/idvbus/pkg/config"
	"github.com/idvbus/idvbus/pkg/embedded"
)

// AllInOne runs idvbus in one process: the embedded JetStream server (unless
// nats.url points at an external one) and the ingest service. It stops in
// order on ctx's end: HTTP first (requests in flight finish), then the NATS
// connection, then the embedded server, which flushes its store.
func AllInOne(ctx context.Context, cfg config.Config, ln net.Listener, log *zap.Logger) error {
	var extra []nats.Option
	if cfg.NATS.URL == "" {
		srv, err := embedded.Start(cfg.NATS.Embedded, cfg.Ingest.MaxBodyBytes+64<<10, log.Named("nats"))
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		log.Info("embedded JetStream started", zap.String("client_url", srv.ClientURL()),
			zap.String("store_dir", cfg.NATS.Embedded.StoreDir))
		extra = append(extra, srv.ConnectOption())
	}
	nc, err := bus.Connect(cfg.NATS, "idvbus", log.Named("nats-client"), extra...)
	if err != nil {
		return err
	}
	defer nc.Close()
	return Ingest(ctx, cfg, nc, ln, log)
}
