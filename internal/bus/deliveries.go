package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketDeliveries is the KV bucket where the notifier records the failed
// delivery attempts of an event to a subscriber (key [DeliveryKey]). A record
// exists only for events that needed a retry; it counts attempts exactly,
// where JetStream's delivery count also counts redeliveries that were not
// attempts (a paused subscriber, a restart).
const BucketDeliveries = "IDV_DELIVERIES"

// DeliveryKey is the IDV_DELIVERIES key of an event (by its IDV_EVENTS
// sequence) for a subscriber: <subscriber>.<seq>.
func DeliveryKey(subscriber string, seq uint64) string {
	return subscriber + "." + strconv.FormatUint(seq, 10)
}

func (b *Bus) deliveriesConfig() jetstream.KeyValueConfig {
	storage := jetstream.FileStorage
	if b.cfg.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.KeyValueConfig{
		Bucket:      BucketDeliveries,
		Description: "failed delivery attempts per subscriber and event, for the notifier's retry limits",
		History:     1,
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
		// A record is useless once its event left IDV_EVENTS.
		TTL: b.cfg.EventsMaxAge,
	}
}

// DeliveryStore reads and writes IDV_DELIVERIES.
type DeliveryStore struct {
	kv jetstream.KeyValue
}

// Deliveries binds the IDV_DELIVERIES bucket; call it after [Bus.EnsureTopology].
func (b *Bus) Deliveries(ctx context.Context) (*DeliveryStore, error) {
	kv, err := b.js.KeyValue(ctx, BucketDeliveries)
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketDeliveries, err)
	}
	return &DeliveryStore{kv: kv}, nil
}

// Get returns the record under key, or nil when there is none.
func (s *DeliveryStore) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv get: %w", err)
	}
	return e.Value(), nil
}

// Put stores value under key, replacing any record.
func (s *DeliveryStore) Put(ctx context.Context, key string, value []byte) error {
	if _, err := s.kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("kv put: %w", err)
	}
	return nil
}
