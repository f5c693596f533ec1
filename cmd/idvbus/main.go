// Command idvbus runs all of idvbus in one process on an embedded JetStream
// server: the default way to run it on one machine.
//
//	idvbus [--config PATH] [--check-config]
//
// With no config (no --config, no IDVBUS_CONFIG) it starts the development
// setup: one source per vendor with public development secrets, data in ./data.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
)

func main() {
	cfg, log, dev, exit := app.Setup("idvbus", os.Args[1:], true, os.Stderr)
	if exit >= 0 {
		os.Exit(exit)
	}
	if dev {
		log.Warn("!!! DEVELOPMENT SETUP: no config given, so every vendor source uses the PUBLIC development secrets from the README. Anyone can forge webhooks. Never expose this to the internet; pass --config for real use. !!!",
			zap.Int("sources", len(cfg.Sources)), zap.String("listen", cfg.Ingest.Listen),
			zap.String("data_dir", cfg.NATS.Embedded.StoreDir))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("idvbus", log, app.AllInOne(ctx, cfg, nil, log))
}
