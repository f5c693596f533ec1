package bus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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
			keepPinMetadata(&want, have)
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
	js   jetstream.JetStream
	cons jetstream.Consumer
	// group, when set, is the consumer's pinned priority group: every pull
	// request names it and carries this client's pin id, which keeps the
	// pin (the server releases it after PinnedTTL without such a request).
	group string
	pin   atomic.Pointer[string] // the last Nats-Pin-Id this client was given
	// instance, when set, is recorded on the consumer as the holder of each
	// new pin this puller is given (see [Bus.ReclaimPin]).
	instance string
}

// Puller binds an existing durable consumer (see [Bus.EnsureConsumer]).
func (b *Bus) Puller(ctx context.Context, stream, durable string) (*Puller, error) {
	return b.PinnedPuller(ctx, stream, durable, "", "")
}

// PinnedPuller binds an existing durable consumer with a pinned priority
// group (ConsumerOptions.PriorityGroup): while another client holds the pin,
// its pulls receive nothing (it stands by); it receives messages once the pin
// is released to it, and then records on the consumer that instance holds
// it (for [Bus.ReclaimPin]; "" records nothing). group "" is [Bus.Puller].
func (b *Bus) PinnedPuller(ctx context.Context, stream, durable, group, instance string) (*Puller, error) {
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return &Puller{js: b.js, cons: c, group: group, instance: instance}, nil
}

func (p *Puller) fetchOpts(wait time.Duration, extra ...jetstream.FetchOpt) []jetstream.FetchOpt {
	opts := append([]jetstream.FetchOpt{jetstream.FetchMaxWait(wait)}, extra...)
	if p.group != "" {
		opts = append(opts, jetstream.FetchPriorityGroup(p.group))
	}
	return opts
}

// Fetch asks for up to n messages and calls each for every one as it
// arrives, returning when n arrived or after wait (keep it short: a stop
// waits for it). Messages that arrive after ctx ended are nak'ed at once for
// another process to take. each owns the ack of the messages it is given.
// A pinned puller that has lost its pin to another client gets no error,
// just no messages: it stands by.
func (p *Puller) Fetch(ctx context.Context, n int, wait time.Duration, each func(*Msg)) error {
	// Not FetchContext(ctx): when ctx ends, the client would stop listening
	// while the server's pull request stays open, and what the server sends
	// into it would wait for the ack wait. Listen until the request expires
	// instead, and give back what arrives after ctx ended.
	batch, err := p.cons.Fetch(n, p.fetchOpts(wait)...)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	for jm := range batch.Messages() {
		if ctx.Err() != nil {
			_ = jm.Nak()
			continue
		}
		if p.group != "" {
			if id := jm.Headers().Get(headerPinID); id != "" {
				if old := p.pin.Load(); old == nil || *old != id {
					p.pin.Store(&id)
					p.notePin(ctx, id)
				}
			}
		}
		each(wrap(jm))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrPinIDMismatch) {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}

// headerPinID is the header in which the server names the pin of a pinned
// priority group on each message it delivers.
const headerPinID = "Nats-Pin-Id"

// keepPin sends a pull request that can take no message (a byte budget of
// one leaves every message for a later request, see jetstream.FetchMaxBytes),
// so a pinned client whose hands are full keeps its pin: the server counts
// any pull request with the pin id as the pinned client being alive.
func (p *Puller) keepPin(wait time.Duration) {
	if p.group == "" {
		return
	}
	batch, err := p.cons.Fetch(1, p.fetchOpts(wait, jetstream.FetchMaxBytes(1))...)
	if err != nil {
		return
	}
	for jm := range batch.Messages() {
		_ = jm.Nak() // cannot happen with a one-byte budget; never hold it unseen
	}
}

// Unpin hands the pin of a pinned puller's group over now, if this puller
// still holds it, instead of after the consumer's PinnedTTL: for a clean
// stop, so a standby takes over at once. A puller that stands by unpins
// nothing (it must not take the pin from the live process that holds it).
func (p *Puller) Unpin(ctx context.Context) error {
	mine := p.pin.Load()
	if p.group == "" || mine == nil {
		return nil
	}
	info, err := p.cons.Info(ctx)
	if err != nil {
		return err
	}
	for _, g := range info.PriorityGroups {
		if g.Group == p.group && g.PinnedClientID == *mine {
			st, err := p.js.Stream(ctx, info.Stream)
			if err != nil {
				return err
			}
			return st.UnpinConsumer(ctx, info.Name, p.group)
		}
	}
	return nil
}
