// Command ingest runs the webhook ingest service against an external NATS
// JetStream (nats.url; default nats://127.0.0.1:4222).
//
//	ingest --config PATH [--check-config]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idvbus/idvbus/internal/app"
)

func main() {
	cfg, log, _, exit := app.Setup("ingest", os.Args[1:], false, os.Stderr)
	if exit >= 0 {
		os.Exit(exit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("ingest", log, app.IngestService(ctx, cfg, log))
}
