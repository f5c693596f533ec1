package subscribe_test

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

// accounts stands in for the service's own store.
type accounts interface {
	// ApplyKYC records a verification's status for a user unless the
	// stored revision is already as high, in one transaction that also
	// records eventID as applied (a second call with it changes nothing).
	ApplyKYC(ctx context.Context, userID string, status idv.Status, revision uint64, eventID string) error
}

var errNoSuchUser = errors.New("no such user")

// A service keeps its users' KYC status in step with idvbus's decisions.
func ExampleSubscriber() {
	var store accounts // the service's database
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc) // or jetstream.NewWithDomain for a leaf node's domain
	if err != nil {
		log.Fatal(err)
	}
	sub, err := subscribe.New(js, subscribe.Options{
		Durable:     "billing-kyc",
		Concurrency: 8, // events of one verification still come one at a time
	})
	if err != nil {
		log.Fatal(err)
	}
	sub.OnVerificationUpdated(func(ctx context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		// Idempotent on ev.ID, and ordered by d.Revision: safe under
		// redelivery and retries.
		err := store.ApplyKYC(ctx, d.ReferenceID, d.Status, d.Revision, ev.ID)
		if errors.Is(err, errNoSuchUser) {
			return subscribe.Permanent(err) // no retry will create the user
		}
		return err // nil acks; another error retries after the backoff
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sub.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
