package app

import (
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
)

// Setup is the common start of every binary: it parses --config and
// --check-config from args, loads and validates the config (the development
// setup when allowDev and no config is given), builds the logger and logs the
// config's warnings. When exit >= 0 the caller must exit with that code at once
// (a config error, printed one line per problem, is 2; --check-config is 0).
func Setup(prog string, args []string, allowDev bool, stderr io.Writer) (cfg config.Config, log *zap.Logger, dev bool, exit int) {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	help := "config file (default $IDVBUS_CONFIG)"
	if allowDev {
		help = "config file (default $IDVBUS_CONFIG; none: the development setup)"
	}
	configPath := fs.String("config", "", help)
	check := fs.Bool("check-config", false, "validate the config and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, false, 2
	}
	cfg, warnings, dev, err := LoadConfig(*configPath, config.OSEnv(), allowDev)
	if err != nil {
		PrintConfigError(stderr, prog, err)
		return cfg, nil, dev, 2
	}
	if *check {
		fmt.Fprintln(stderr, prog+": config ok")
		return cfg, nil, dev, 0
	}
	log, err = NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return cfg, nil, dev, 2
	}
	for _, w := range warnings {
		log.Warn("config: " + w)
	}
	return cfg, log, dev, -1
}

// Exit logs err (if any) and ends the process: 0 after a clean stop, 1 after a failure.
func Exit(prog string, log *zap.Logger, err error) {
	code := 0
	if err != nil {
		log.Error(prog+" stopped with an error", zap.Error(err))
		code = 1
	} else {
		log.Info(prog + " stopped")
	}
	_ = log.Sync()
	os.Exit(code)
}
