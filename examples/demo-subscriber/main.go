// Command demo-subscriber is the receiving service of the docker-compose demo
// (docker-compose.yml at the repository root). Like examples/receive-webhooks it
// verifies each request's Standard Webhooks signature and prints the decision;
// in addition it lists what it accepted and can be told to fail, so the
// README's retry and dead-letter flow can be watched and tested:
//
//	POST /idv                  a signed CloudEvent from idvbus's notifier
//	GET  /received             JSON list of the events accepted (2xx), oldest first
//	POST /fail?status=500      answer every delivery with that status from now on
//	DELETE /fail               back to normal
//	GET  /healthz              200 while the process runs
//
// What it received lives in memory: a restart forgets it (idvbus does not
// care: the subscriber's idempotency is the receiver's business, and
// webhook-id stays the same across retries).
//
//	demo-subscriber [-listen 127.0.0.1:9000]
//
// The secret comes from $WEBHOOK_SECRET; without it, the public development
// secret of deploy/compose/idvbus.yaml is used.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idvbus/idvbus/internal/buildinfo"
)

// devSecret is the demo subscriber's secret in deploy/compose/idvbus.yaml:
// public, for the demo only.
const devSecret = "whsec_aWR2YnVzLWRldi1zdWJzY3JpYmVyLXNlY3JldC0zMmI="

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	version := buildinfo.VersionFlag(flag.CommandLine, "demo-subscriber", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		secret = devSecret
	}
	rcv, err := newReceiver(secret, os.Stdout)
	if err != nil {
		log.Fatalf("demo-subscriber: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, rcv); err != nil {
		log.Fatalf("demo-subscriber: %v", err)
	}
}

// serve runs the receiver on addr until ctx ends, then lets requests in
// flight finish for up to 5 s.
func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("demo-subscriber: receiving on http://%s/idv", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
