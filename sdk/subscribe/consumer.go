package subscribe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/sdk/idv"
)

// jetStream is the part of [jetstream.JetStream] a Subscriber uses: the
// consumer API of one stream, and the connection to tell a closed one.
type jetStream interface {
	Consumer(ctx context.Context, stream, consumer string) (jetstream.Consumer, error)
	CreateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
	UpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
	Conn() *nats.Conn
}

// consumerConfig is the JetStream configuration of the durable consumer: a
// pull consumer with explicit acks and no server-side delivery limit.
func (o Options) consumerConfig(subjects []string) jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:        o.Durable,
		Description:    "idvbus subscribe: " + o.Durable,
		FilterSubjects: subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        o.AckWait,
		MaxAckPending:  o.MaxAckPending,
		// Redelivery is bounded by MaxDeliveries, which calls OnGiveUp: a
		// server-side MaxDeliver would silently stop delivering.
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	switch {
	case !o.StartTime.IsZero():
		t := o.StartTime.UTC()
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	case o.DeliverAll:
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	return cc
}

// ensureConsumer creates the durable consumer described by want or, when it
// exists, updates it to want while keeping where it started: JetStream
// cannot change a consumer's deliver policy, and a "deliver new" consumer
// must not skip what arrived while its service was down. Safe to run from
// several processes at once.
func ensureConsumer(ctx context.Context, js jetStream, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	for range 2 {
		c, err := js.Consumer(ctx, idv.StreamEvents, want.Durable)
		switch {
		case err == nil:
			have := c.CachedInfo().Config
			want.DeliverPolicy, want.OptStartTime, want.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
			c, err := js.UpdateConsumer(ctx, idv.StreamEvents, want)
			if err != nil {
				return nil, fmt.Errorf("consumer %s: %w", want.Durable, err)
			}
			return c, nil
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			c, err := js.CreateConsumer(ctx, idv.StreamEvents, want)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				continue // another process created it first: update it
			}
			if err != nil {
				return nil, fmt.Errorf("consumer %s: %w", want.Durable, err)
			}
			return c, nil
		default:
			return nil, fmt.Errorf("consumer %s: %w", want.Durable, err)
		}
	}
	return nil, fmt.Errorf("consumer %s: created and removed concurrently", want.Durable)
}

// setupTimeout bounds one attempt at setting up the consumer (two or three
// JetStream API requests), whatever the deadline of Run's context: an
// answer normally takes milliseconds, and a request NATS dropped (a denied
// subject, a lost connection) must not hold Run for longer than this.
const setupTimeout = 10 * time.Second

// Durations of the retries of Run: how long it waits before it tries again
// to set up its consumer or to consume after a failure.
const (
	// retryMin is the first wait: a late JetStream answer or a leader
	// election is usually over within a second.
	retryMin = 250 * time.Millisecond
	// retryMax caps the doubling: a NATS outage is probed twice a minute,
	// not spun on.
	retryMax = 30 * time.Second
)
