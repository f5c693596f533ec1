package app

import (
	"context"
	"net"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/embedded"
)

// AllInOne runs idvbus in one process: the embedded JetStream server (unless
// nats.url points at an external one), the ingest service, the normalizer and
// the notifier, with one ops listener for all three (ingest.ops_listen:
// /metrics, the detailed /readyz). Once everything is set up it logs one line starting "idvbus
// ready" that says where to send a webhook and what to try next. It stops in
// order on ctx's end: HTTP first (requests in flight finish), then the NATS
// connection, then the embedded server, which flushes its store.
func AllInOne(ctx context.Context, cfg config.Config, ls Listeners, log *zap.Logger) error {
	if cfg.NATS.URL == "" {
		// Eight times the header room ingest requires: the embedded server
		// never becomes the reason a webhook is refused.
		srv, err := embedded.Start(cfg.NATS.Embedded, cfg.Ingest.MaxBodyBytes+8*HeaderRoom, log.Named("nats"))
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		log.Info("embedded JetStream started", zap.String("client_url", srv.ClientURL()),
			zap.String("monitor", cfg.NATS.Embedded.MonitorListen), zap.String("store_dir", cfg.NATS.Embedded.StoreDir))
		// Connect over loopback TCP, not nats.InProcessServer: under 16
		// concurrent webhooks the in-process pipe measured ~5x slower with a
		// 250 ms p99 (docs/benchmarks.md).
		cfg.NATS.URL = srv.ClientURL()
	}
	nc, err := bus.Connect(cfg.NATS, "idvbus", log.Named("nats-client"))
	if err != nil {
		return err
	}
	defer nc.Close()
	natsURL := bus.RedactURL(cfg.NATS.URL)
	return run(ctx, cfg, nc, ls, log, parts{ingest: true, normalizer: true, notifier: true,
		ready: func(addr net.Addr) { logReady(log, cfg, natsURL, addr) }})
}
