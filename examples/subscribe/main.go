// Command subscribe is a backend service in miniature: it consumes idvbus's
// normalized events with sdk/subscribe, through the durable consumer
// "example-subscriber", and prints each decision and check result. Stop it
// and start it again: it resumes with the events it missed. It needs the
// idvbus topology (run idvbus first).
//
//	go run ./examples/subscribe [-nats nats://127.0.0.1:4222]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

func main() {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	flag.StringVar(&url, "nats", url, "NATS server URL (default from NATS_URL)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, url); err != nil {
		fmt.Fprintln(os.Stderr, "subscribe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.Name("example-subscriber"), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	log, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	sub, err := subscribe.New(nc, subscribe.Options{
		Durable: "example-subscriber",
		// The three decisions, and every check result.
		Filter: idv.Filter{
			Types:    []string{idv.TypeVerificationUpdated, idv.TypeCheckCompleted},
			Statuses: []string{"approved", "declined", "needs_review"},
		},
		Logger: log,
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
	return sub.Run(ctx) // until SIGINT or SIGTERM; handlers in flight finish first
}
