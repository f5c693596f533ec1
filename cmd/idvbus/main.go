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
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/pkg/config"
)

func main() {
	configPath := flag.String("config", "", "config file (default $IDVBUS_CONFIG; none: development setup)")
	check := flag.Bool("check-config", false, "validate the config and exit")
	flag.Parse()

	cfg, warnings, dev, err := app.LoadConfig(*configPath, config.OSEnv(), true)
	if err != nil {
		app.PrintConfigError("idvbus", err)
		os.Exit(2)
	}
	if *check {
		fmt.Println("config ok")
		return
	}
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "idvbus:", err)
		os.Exit(2)
	}
	defer func() { _ = log.Sync() }()
	for _, w := range warnings {
		log.Warn("config: " + w)
	}
	if dev {
		log.Warn("!!! DEVELOPMENT SETUP: no config given, so every vendor source uses the PUBLIC development secrets from the README. Anyone can forge webhooks. Never expose this to the internet; pass --config for real use. !!!",
			zap.Strings("sources", []string{"persona", "idwise", "incode", "credas"}),
			zap.String("data_dir", cfg.NATS.Embedded.StoreDir))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.AllInOne(ctx, cfg, nil, log); err != nil {
		log.Error("idvbus stopped with an error", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	log.Info("idvbus stopped")
}
