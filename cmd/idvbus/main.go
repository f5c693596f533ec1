// Command idvbus runs all of idvbus in one process on an embedded JetStream
// server: the default way to run it on one machine.
//
//	idvbus [--config PATH] [--check-config] [--version] [--help]
//	idvbus config print [--config PATH] [--json]
//
// With no config (no --config, no IDVBUS_CONFIG) it starts the development
// setup: one source per vendor with public development secrets, data in ./data.
// `config print` shows the effective config, where each value came from,
// with secrets masked. Subcommands are listed in app.AllInOneCommand.
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
	st, err := app.Setup(app.AllInOneCommand, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		os.Exit(app.ExitCode(err))
	}
	cfg, log := st.Config, st.Log
	if st.Dev() {
		log.Warn("!!! DEVELOPMENT SETUP: no config given, so every vendor source uses the PUBLIC development secrets from the README. Anyone can forge webhooks. Never expose this to the internet; pass --config for real use. !!!",
			zap.Int("sources", len(cfg.Sources)), zap.String("listen", cfg.Ingest.Listen), zap.String("ops_listen", cfg.Ingest.OpsListen),
			zap.String("data_dir", cfg.NATS.Embedded.StoreDir))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("idvbus", log, app.AllInOne(ctx, cfg, app.Listeners{}, log))
}
