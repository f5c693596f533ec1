package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// consumerConfig is the JetStream configuration of o: a durable pull
// consumer with explicit acks and no server-side delivery limit.
func (o ConsumerOptions) consumerConfig() jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:        o.Durable,
		Description:    o.Description,
		FilterSubjects: o.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        o.AckWait,
		MaxAckPending:  o.MaxAckPending,
		// Redelivery is bounded by the application, which dead-letters at its
		// own limit: a server-side MaxDeliver would silently stop delivering.
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch {
	case !o.StartTime.IsZero():
		t := o.StartTime.UTC()
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	case o.DeliverNew:
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	if o.PriorityGroup != "" {
		cc.PriorityPolicy = jetstream.PriorityPolicyPinned
		cc.PriorityGroups = []string{o.PriorityGroup}
		cc.PinnedTTL = o.PinnedTTL
	}
	return cc
}

// EnsureConsumer creates the durable consumer described by o or, when it
// exists, updates it to o while keeping where it started: JetStream cannot
// change a consumer's deliver policy, and a "deliver new" consumer must not
// skip what arrived while its service was down. Safe to run from several
// processes at once.
func (b *Bus) EnsureConsumer(ctx context.Context, o ConsumerOptions) error {
	want := o.consumerConfig()
	for range 2 {
		c, err := b.js.Consumer(ctx, o.Stream, o.Durable)
		switch {
		case err == nil:
			have := c.CachedInfo().Config
			want.DeliverPolicy, want.OptStartTime, want.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
			if _, err := b.js.UpdateConsumer(ctx, o.Stream, want); err != nil {
				return fmt.Errorf("consumer %s: %w", o.Durable, err)
			}
			return nil
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			_, err := b.js.CreateConsumer(ctx, o.Stream, want)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				continue // another process created it first: update it
			}
			if err != nil {
				return fmt.Errorf("consumer %s: %w", o.Durable, err)
			}
			return nil
		default:
			return fmt.Errorf("consumer %s: %w", o.Durable, err)
		}
	}
	return fmt.Errorf("consumer %s: created and removed concurrently", o.Durable)
}

// Puller hands out the messages of one durable consumer on demand, so a
// service takes only as many as it can work on: nothing waits in a client
// buffer while its ack timer runs.
type Puller struct {
	cons jetstream.Consumer
}

// Puller binds an existing durable consumer (see [Bus.EnsureConsumer]).
func (b *Bus) Puller(ctx context.Context, stream, durable string) (*Puller, error) {
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return &Puller{cons: c}, nil
}

// Fetch asks for up to n messages and calls each for every one as it
// arrives, returning when n arrived or after wait (keep it short: a stop
// waits for it). Messages that arrive after ctx ended are nak'ed at once for
// another process to take. each owns the ack of the messages it is given.
func (p *Puller) Fetch(ctx context.Context, n int, wait time.Duration, each func(*Msg)) error {
	// Not FetchContext(ctx): when ctx ends, the client would stop listening
	// while the server's pull request stays open, and what the server sends
	// into it would wait for the ack wait. Listen until the request expires
	// instead, and give back what arrives after ctx ended.
	batch, err := p.cons.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	for jm := range batch.Messages() {
		if ctx.Err() != nil {
			_ = jm.Nak()
			continue
		}
		each(wrap(jm))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}
