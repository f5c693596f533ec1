// Command ingest runs the webhook ingest service against an external NATS
// JetStream (nats.url; default nats://127.0.0.1:4222).
//
//	ingest --config PATH [--check-config]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/pkg/bus"
	"github.com/idvbus/idvbus/pkg/config"
)

func main() {
	configPath := flag.String("config", "", "config file (default $IDVBUS_CONFIG)")
	check := flag.Bool("check-config", false, "validate the config and exit")
	flag.Parse()

	cfg, warnings, _, err := app.LoadConfig(*configPath, config.OSEnv(), false)
	if err != nil {
		app.PrintConfigError("ingest", err)
		os.Exit(2)
	}
	if len(cfg.Sources) == 0 {
		app.PrintConfigError("ingest", fmt.Errorf("sources: at least one source is required"))
		os.Exit(2)
	}
	if *check {
		fmt.Println("config ok")
		return
	}
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(2)
	}
	defer func() { _ = log.Sync() }()
	for _, w := range warnings {
		log.Warn("config: " + w)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := bus.Connect(cfg.NATS, "idvbus-ingest", log.Named("nats-client"))
	if err != nil {
		log.Error("cannot connect to NATS", zap.Error(err))
		os.Exit(1)
	}
	defer nc.Close()
	if err := app.Ingest(ctx, cfg, nc, nil, log); err != nil {
		log.Error("ingest stopped with an error", zap.Error(err))
		_ = log.Sync()
		nc.Close()
		os.Exit(1)
	}
	log.Info("ingest stopped")
}
