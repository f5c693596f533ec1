package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TailStart says where [Bus.Tail] begins. The zero value starts with the
// messages stored after the tail started.
type TailStart struct {
	// All starts with the first message of the stream.
	All bool
	// Since starts with the messages stored at or after this time.
	Since time.Time
	// Last starts with the last Last messages that pass the filter.
	Last int
}

// TailOptions describe a tail.
type TailOptions struct {
	// Stream defaults to IDV_EVENTS.
	Stream string
	// FilterSubjects chooses the messages (empty: every one).
	FilterSubjects []string
	Start          TailStart
	// Idle, when set, ends the tail once no message has arrived for this long.
	Idle time.Duration
}

// ErrStopTail is what the callback of [Bus.Tail] returns to end the tail
// without an error.
var ErrStopTail = errors.New("stop tail")

// ErrTailIdle is returned by [Bus.Tail] when it ended because nothing
// arrived for TailOptions.Idle.
var ErrTailIdle = errors.New("no message within the idle time")

// tailInactive is how long the server keeps a tail's consumer after the
// client went away without removing it (a killed idvctl): long enough to
// ride over a reconnect, short enough not to linger.
const tailInactive = 30 * time.Second

// Tail delivers the stream's messages that pass the filter, one at a time in
// stream order, none skipped and none twice, to each, until ctx ends (nil),
// each returns [ErrStopTail] (nil) or another error (returned), or nothing
// arrives for o.Idle ([ErrTailIdle]). It reads through an ephemeral ordered
// consumer: nothing is acknowledged, no durable state is created or changed,
// and other consumers of the stream are not affected. A lost connection is
// recovered from where the tail was.
func (b *Bus) Tail(ctx context.Context, o TailOptions, each func(*Msg) error) error {
	err := b.tail(ctx, o, each)
	if ctx.Err() != nil && !errors.Is(err, ErrTailIdle) {
		return nil // ended by ctx, whichever step it interrupted
	}
	return err
}

func (b *Bus) tail(ctx context.Context, o TailOptions, each func(*Msg) error) error {
	if o.Stream == "" {
		o.Stream = StreamEvents
	}
	cc := jetstream.OrderedConsumerConfig{
		FilterSubjects:    o.FilterSubjects,
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: tailInactive,
	}
	switch s := o.Start; {
	case s.Last > 0:
		seq, err := b.startOfLast(ctx, o.Stream, o.FilterSubjects, s.Last)
		if err != nil {
			return err
		}
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
	case !s.Since.IsZero():
		t := s.Since.UTC()
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	case s.All:
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := b.js.OrderedConsumer(ctx, o.Stream, cc)
	if err != nil {
		return fmt.Errorf("tail %s: %w", o.Stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("tail %s: %w", o.Stream, err)
	}
	defer it.Stop()
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-stopped:
		}
	}()
	var opts []jetstream.NextOpt
	if o.Idle > 0 {
		opts = append(opts, jetstream.NextMaxWait(o.Idle))
	}
	for {
		jm, err := it.Next(opts...)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrTimeout):
			return ErrTailIdle
		case err != nil:
			return fmt.Errorf("tail %s: %w", o.Stream, err)
		}
		if err := each(wrap(jm)); err != nil {
			if errors.Is(err, ErrStopTail) {
				return nil
			}
			return err
		}
	}
}

// startOfLast returns the stream sequence where the last n messages that
// pass filters begin (the first sequence when fewer are stored), by a binary
// search over the pending counts of short-lived probe consumers: about
// 2·log2(stream length) requests, whatever the number of messages.
func (b *Bus) startOfLast(ctx context.Context, stream string, filters []string, n int) (uint64, error) {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	state := st.CachedInfo().State
	if state.Msgs == 0 {
		return state.LastSeq + 1, nil
	}
	pending := func(seq uint64) (uint64, error) {
		c, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
			FilterSubjects:    filters,
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       seq,
			AckPolicy:         jetstream.AckNonePolicy,
			InactiveThreshold: tailInactive,
			MemoryStorage:     true,
		})
		if err != nil {
			return 0, fmt.Errorf("stream %s: probe: %w", stream, err)
		}
		p := c.CachedInfo().NumPending
		_ = st.DeleteConsumer(ctx, c.CachedInfo().Name) // else it expires after tailInactive
		return p, nil
	}
	lo, hi := state.FirstSeq, state.LastSeq
	if p, err := pending(lo); err != nil || p <= uint64(n) {
		return lo, err
	}
	// Invariant: pending(lo) > n; find the largest seq with pending(seq) >= n.
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		p, err := pending(mid)
		if err != nil {
			return 0, err
		}
		if p >= uint64(n) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
