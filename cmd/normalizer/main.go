// Command normalizer runs the normalizer alone against an external NATS
// JetStream (nats.url; default nats://127.0.0.1:4222): it turns the raw
// webhooks in IDV_RAW into CloudEvents in IDV_EVENTS, dead-lettering what it
// cannot parse. /healthz, /readyz and /metrics are served on normalizer.listen.
//
//	normalizer --config PATH [--check-config] [--version] [--help]
//
// Several normalizer processes may run on one durable consumer: one is pinned
// and works, the others stand by and take over when it stops.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idvbus/idvbus/internal/app"
)

func main() {
	st, err := app.Setup(app.NormalizerCommand, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		os.Exit(app.ExitCode(err))
	}
	cfg, log := st.Config, st.Log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app.Exit("normalizer", log, app.NormalizerService(ctx, cfg, log))
}
