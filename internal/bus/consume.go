package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerOptions describe a durable pull consumer with explicit acks.
type ConsumerOptions struct {
	Stream         string
	Durable        string
	Description    string
	FilterSubjects []string
	AckWait        time.Duration
	MaxAckPending  int
	// PriorityGroup, when set, pins the consumer to one client at a time
	// (JetStream priority group, pinned_client policy): other processes
	// consuming the same durable stand by and take over once the pinned one
	// has stopped pulling for PinnedTTL.
	PriorityGroup string
	PinnedTTL     time.Duration
	// DeliverNew makes a new consumer start with the messages stored after
	// its creation, and StartTime (when set) with those stored since then;
	// by default it starts with the first message in the stream. Neither
	// changes a consumer that exists (see [Bus.EnsureConsumer]).
	DeliverNew bool
	StartTime  time.Time
}

// Msg is one delivery of a stored message.
type Msg struct {
	m jetstream.Msg
	// Stream and StreamSeq locate the message in its stream.
	Stream    string
	StreamSeq uint64
	// NumDelivered is 1 on the first delivery.
	NumDelivered uint64
	// Timestamp is when the message was stored in its stream.
	Timestamp time.Time
}

// Subject returns the message's subject.
func (m *Msg) Subject() string { return m.m.Subject() }

// Header returns the message's headers (case-sensitive).
func (m *Msg) Header() nats.Header { return m.m.Headers() }

// Data returns the message body.
func (m *Msg) Data() []byte { return m.m.Data() }

// Ack acknowledges the message: it will not be delivered again.
func (m *Msg) Ack() error { return m.m.Ack() }

// NakWithDelay asks for a redelivery after d.
func (m *Msg) NakWithDelay(d time.Duration) error { return m.m.NakWithDelay(d) }

// InProgress resets the ack timer while a long operation goes on.
func (m *Msg) InProgress() error { return m.m.InProgress() }

// Nak asks for an immediate redelivery, to this or another process.
func (m *Msg) Nak() error { return m.m.Nak() }

// Term stops all redelivery of the message (after it was dead-lettered).
func (m *Msg) Term(reason string) error { return m.m.TermWithReason(headerSafe(reason)) }

// wrap makes a [Msg] of a delivered JetStream message.
func wrap(jm jetstream.Msg) *Msg {
	m := &Msg{m: jm}
	if md, err := jm.Metadata(); err == nil {
		m.Stream, m.StreamSeq, m.NumDelivered, m.Timestamp = md.Stream, md.Sequence.Stream, md.NumDelivered, md.Timestamp
	}
	return m
}

// consumerInfo fetches a durable consumer's state in one round trip
// (looking the consumer up already returns its info).
func (b *Bus) consumerInfo(ctx context.Context, stream, durable string) (*jetstream.ConsumerInfo, error) {
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return c.CachedInfo(), nil
}

// AckFloor returns the stream sequence below which every message of the
// durable consumer has been acknowledged.
func (b *Bus) AckFloor(ctx context.Context, stream, durable string) (uint64, error) {
	info, err := b.consumerInfo(ctx, stream, durable)
	if err != nil {
		return 0, err
	}
	return info.AckFloor.Stream, nil
}

// ConsumerPending returns how many messages of the durable consumer wait to
// be delivered and how many are delivered but not yet acknowledged.
func (b *Bus) ConsumerPending(ctx context.Context, stream, durable string) (pending uint64, ackPending int, err error) {
	info, err := b.consumerInfo(ctx, stream, durable)
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, info.NumAckPending, nil
}

// ConsumerNames lists the durable consumers of stream.
func (b *Bus) ConsumerNames(ctx context.Context, stream string) ([]string, error) {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	lister := st.ConsumerNames(ctx)
	var names []string
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	return names, nil
}
