// Command subscribe is a backend service in miniature: it consumes idvbus's
// normalized events with the Go SDK (module github.com/idvbus/idvbus/sdk),
// through the durable consumer "example-subscriber", and prints each
// decision and check result. Stop it and start it again: it resumes with the
// events it missed. Started before NATS or idvbus, it waits for them.
//
//	go run ./examples/subscribe [-nats nats://127.0.0.1:4222]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

func main() {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	flag.StringVar(&url, "nats", url, "NATS server URL (default from NATS_URL)")
	version := buildinfo.VersionFlag(flag.CommandLine, "subscribe", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, url); err != nil {
		fmt.Fprintln(os.Stderr, "subscribe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string) error {
	// Your own connection: credentials, TLS and reconnects are yours to set.
	nc, err := nats.Connect(url, nats.Name("example-subscriber"),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc) // or jetstream.NewWithDomain(nc, "hub") for a JetStream domain
	if err != nil {
		return err
	}
	sub, err := subscribe.New(js, subscribe.Options{
		Durable: "example-subscriber", // your consumer, kept across restarts
		// The three decisions, and every check result.
		Filter: idv.Filter{
			Types:    []idv.EventType{idv.TypeVerificationUpdated, idv.TypeCheckCompleted},
			Statuses: idv.DecisionStatuses(),
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), // nil: no logs
	})
	if err != nil {
		return err
	}
	// A real service updates its own records here, idempotently (an event
	// may come twice: ev.ID is the same both times), and returns an error to
	// have the event retried.
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		fmt.Printf("decision  %s %s: %s (revision %d, reference %q, event %s)\n",
			d.Vendor, d.VerificationID, d.Status, d.Revision, d.ReferenceID, ev.ID)
		return nil
	})
	sub.OnCheckCompleted(func(_ context.Context, ev subscribe.Event, d idv.CheckCompleted) error {
		fmt.Printf("check     %s %s: %s %s (reference %q, event %s)\n",
			d.Vendor, d.VerificationID, d.Check, d.Result, d.ReferenceID, ev.ID)
		return nil
	})
	// Until SIGINT or SIGTERM (handlers in flight finish first); an error
	// only for what no retry can fix, such as no IDV_EVENTS stream.
	return sub.Run(ctx)
}
