// Command idvctl is idvbus's command line for operators and developers:
//
//	idvctl [--config PATH] [--nats URL] [--json] <command> [args]
//
// `idvctl help` lists the commands and their exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, config.OSEnv())
	stop()
	os.Exit(code)
}
