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

// DisabledKey is the IDV_DELIVERIES key that marks a subscriber disabled
// (it answered 410 Gone): _DISABLED.<subscriber>. Its first token has
// upper-case letters, which subscriber names never have, so it cannot clash
// with a [DeliveryKey].
func DisabledKey(subscriber string) string { return "_DISABLED." + subscriber }

// GetDisabled returns the disabled mark of subscriber and its revision, or
// nil when the subscriber is not disabled.
func (s *DeliveryStore) GetDisabled(ctx context.Context, subscriber string) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, DisabledKey(subscriber))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("kv get: %w", err)
	}
	return e.Value(), e.Revision(), nil
}

// PutDisabled marks subscriber disabled, with value saying when and why.
func (s *DeliveryStore) PutDisabled(ctx context.Context, subscriber string, value []byte) error {
	if _, err := s.kv.Put(ctx, DisabledKey(subscriber), value); err != nil {
		return fmt.Errorf("kv put: %w", err)
	}
	return nil
}

// RefreshDisabled rewrites the mark read at revision rev, so the bucket's TTL
// (events_max_age) does not expire it while it stands. It returns
// [ErrConflict] when the mark changed or was deleted since (an operator
// resumed the subscriber): a refresh never undoes a resume.
func (s *DeliveryStore) RefreshDisabled(ctx context.Context, subscriber string, value []byte, rev uint64) error {
	if _, err := s.kv.Update(ctx, DisabledKey(subscriber), value, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) {
			return ErrConflict
		}
		return fmt.Errorf("kv update: %w", err)
	}
	return nil
}

// Resume removes the disabled mark of subscriber; the notifiers resume
// delivering to it within their poll interval. It returns [ErrNotFound] when
// the subscriber was not disabled.
func (s *DeliveryStore) Resume(ctx context.Context, subscriber string) error {
	if _, err := s.kv.Get(ctx, DisabledKey(subscriber)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err := s.kv.Purge(ctx, DisabledKey(subscriber)); err != nil {
		return fmt.Errorf("kv purge: %w", err)
	}
	return nil
}

// ListDisabled returns every disabled mark in the bucket, by subscriber.
func (s *DeliveryStore) ListDisabled(ctx context.Context) (map[string][]byte, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, DisabledKey(">"))
	if err != nil {
		return nil, fmt.Errorf("kv keys: %w", err)
	}
	out := map[string][]byte{}
	for k := range lister.Keys() {
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kv get: %w", err)
		}
		out[k[len(DisabledKey("")):]] = e.Value()
	}
	return out, nil
}
