// Command print-events prints the normalized CloudEvents in IDV_EVENTS as
// JSON lines, from the first one on, and keeps following new ones: the
// smallest plain JetStream consumer of idvbus's events (an ordered,
// ephemeral consumer: nothing is acked or changed on the server).
//
//	go run ./examples/print-events [-server nats://127.0.0.1:4222] [-subject 'idv.events.>']
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/sdk/idv"
)

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS server URL")
	subject := flag.String("subject", "idv.events.>", "subject filter, e.g. idv.events.*.verification.approved")
	version := buildinfo.VersionFlag(flag.CommandLine, "print-events", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	if err := run(*server, *subject); err != nil {
		fmt.Fprintln(os.Stderr, "print-events:", err)
		os.Exit(1)
	}
}

func run(server, subject string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	nc, err := nats.Connect(server)
	if err != nil {
		// nats.go says "no servers available" for a refused connection.
		return fmt.Errorf("connect to %s: %w — is idvbus running? -server URL says where", redacted(server), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, "IDV_EVENTS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return fmt.Errorf("stream IDV_EVENTS at %s: %w — is this idvbus's NATS, and has idvbus started once?", redacted(server), err)
	}
	out := json.NewEncoder(os.Stdout)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		e, err := idv.FromNATS(m.Headers(), m.Data())
		if err != nil {
			fmt.Fprintf(os.Stderr, "print-events: %s: %v\n", m.Subject(), err)
			return
		}
		_ = out.Encode(e) // structured-mode CloudEvent JSON
	})
	if err != nil {
		return err
	}
	defer cc.Stop()
	<-ctx.Done()
	return nil
}

// redacted is a NATS URL without its password, for messages.
func redacted(server string) string {
	if u, err := url.Parse(server); err == nil && u.User != nil {
		return u.Redacted()
	}
	return server
}
