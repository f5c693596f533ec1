package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Read-only views of the topology for operators (idvctl state and status).
// None of these functions creates, changes or acknowledges anything.

// KVEntry is one kept revision of a KV key.
type KVEntry struct {
	Revision uint64
	Created  time.Time
	// Deleted marks a delete or purge marker (Value is empty).
	Deleted bool
	Value   []byte
}

// StateHistory returns the revisions IDV_STATE keeps of key, oldest first
// (the bucket keeps the last few; see stateHistory), or [ErrNotFound].
func (b *Bus) StateHistory(ctx context.Context, key string) ([]KVEntry, error) {
	kv, err := b.js.KeyValue(ctx, BucketState)
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketState, err)
	}
	es, err := kv.History(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kv %s history: %w", BucketState, err)
	}
	out := make([]KVEntry, len(es))
	for i, e := range es {
		out[i] = KVEntry{Revision: e.Revision(), Created: e.Created(), Value: e.Value(),
			Deleted: e.Operation() != jetstream.KeyValuePut}
	}
	return out, nil
}

// StreamStat is the state of one stream.
type StreamStat struct {
	Name                string
	Msgs, Bytes         uint64
	FirstSeq, LastSeq   uint64
	FirstTime, LastTime time.Time
	Consumers           int
}

// StreamStats returns the state of IDV_RAW, IDV_EVENTS and IDV_DLQ.
func (b *Bus) StreamStats(ctx context.Context) ([]StreamStat, error) {
	var out []StreamStat
	for _, name := range []string{StreamRaw, StreamEvents, StreamDLQ} {
		st, err := b.js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		s := st.CachedInfo().State
		out = append(out, StreamStat{Name: name, Msgs: s.Msgs, Bytes: s.Bytes,
			FirstSeq: s.FirstSeq, LastSeq: s.LastSeq, FirstTime: s.FirstTime, LastTime: s.LastTime,
			Consumers: s.Consumers})
	}
	return out, nil
}

// ConsumerStat is the state of one durable consumer.
type ConsumerStat struct {
	Stream, Name string
	// Pending messages wait to be delivered; AckPending are delivered and
	// not yet acknowledged; Redelivered were delivered more than once and
	// are not yet acknowledged.
	Pending     uint64
	AckPending  int
	Redelivered int
	AckFloor    uint64
}

// ConsumerStats returns the durable consumers of IDV_RAW and IDV_EVENTS
// (the normalizer's and each subscriber's notify-<name>), by stream and name.
func (b *Bus) ConsumerStats(ctx context.Context) ([]ConsumerStat, error) {
	var out []ConsumerStat
	for _, stream := range []string{StreamRaw, StreamEvents} {
		st, err := b.js.Stream(ctx, stream)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		l := st.ListConsumers(ctx)
		for info := range l.Info() {
			if info.Config.Durable == "" {
				continue // a tail or another ephemeral reader
			}
			out = append(out, ConsumerStat{Stream: stream, Name: info.Name, Pending: info.NumPending,
				AckPending: info.NumAckPending, Redelivered: info.NumRedelivered, AckFloor: info.AckFloor.Stream})
		}
		if err := l.Err(); err != nil {
			return nil, fmt.Errorf("stream %s consumers: %w", stream, err)
		}
	}
	return out, nil
}

// BucketStat is the size of one KV bucket.
type BucketStat struct {
	Name    string
	Values  uint64 // kept values, including the history of each key
	Bytes   uint64
	History int64
}

// BucketStats returns the sizes of IDV_STATE and IDV_DELIVERIES.
func (b *Bus) BucketStats(ctx context.Context) ([]BucketStat, error) {
	var out []BucketStat
	for _, name := range []string{BucketState, BucketDeliveries} {
		kv, err := b.js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("kv %s: %w", name, err)
		}
		s, err := kv.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("kv %s: %w", name, err)
		}
		out = append(out, BucketStat{Name: name, Values: s.Values(), Bytes: s.Bytes(), History: s.History()})
	}
	return out, nil
}
