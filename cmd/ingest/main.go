// Command ingest runs the webhook ingest service against an external NATS
// JetStream (nats.url; default nats://127.0.0.1:4222).
//
//	ingest --config PATH [--check-config] [--version] [--help]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idvbus/idvbus/internal/app"
)

func main() {
	st, err := app.Setup(app.IngestCommand, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		os.Exit(app.ExitCode(err))
	}
	cfg, log := st.Config, st.Log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("ingest", log, app.IngestService(ctx, cfg, log))
}
