// Command notifier runs the notifier alone against an external NATS
// JetStream (nats.url; default nats://127.0.0.1:4222): it delivers the
// normalized events in IDV_EVENTS to each configured subscriber as signed
// webhooks (Standard Webhooks), retrying and dead-lettering as configured.
// /healthz, /readyz and /metrics are served on notifier.listen.
//
//	notifier --config PATH [--check-config] [--version] [--help]
//
// Several notifier processes may run with the same subscribers: they share
// each subscriber's durable consumer (notify-<name>) and its work.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idvbus/idvbus/internal/app"
)

func main() {
	st, err := app.Setup(app.NotifierCommand, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		os.Exit(app.ExitCode(err))
	}
	cfg, log := st.Config, st.Log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("notifier", log, app.NotifierService(ctx, cfg, log))
}
