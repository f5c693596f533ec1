package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/retry"
)

// stateHistory keeps the last few revisions of each verification's state, so
// an operator can see how it got where it is (the state itself records which
// vendor events were applied).
const stateHistory = 10

// streamConfigs returns the wanted configuration of every stream.
func (b *Bus) streamConfigs() []jetstream.StreamConfig {
	storage := jetstream.FileStorage
	if b.cfg.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	return []jetstream.StreamConfig{{
		Name:        StreamRaw,
		Description: "raw vendor webhooks, byte for byte, as authenticated by ingest",
		Subjects:    []string{"idv.raw.>"},
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.RawMaxAge,
		Duplicates:  b.cfg.DuplicateWindow,
		Retention:   jetstream.LimitsPolicy, // kept for replay, not consumed away
		Discard:     jetstream.DiscardOld,
	}, {
		Name:        StreamEvents,
		Description: "normalized CloudEvents (binary mode), Nats-Msg-Id = CloudEvent id",
		Subjects:    []string{"idv.events.>", "idv.redeliver.>"}, // redeliver: see RedeliverSubject
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.EventsMaxAge,
		Duplicates:  b.cfg.DuplicateWindow,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
	}, {
		Name:        StreamDLQ,
		Description: "dead letters of the normalize and notify stages, with the reason in Idv-Error",
		Subjects:    []string{"idv.dlq.>"},
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.DLQMaxAge,
		Duplicates:  b.cfg.DuplicateWindow,
		Retention:   jetstream.LimitsPolicy,
		// Dead letters are the last copy of something that failed: never drop
		// the oldest to make room; refuse new ones loudly instead.
		Discard: jetstream.DiscardNew,
	}}
}

func (b *Bus) kvConfig() jetstream.KeyValueConfig {
	storage := jetstream.FileStorage
	if b.cfg.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.KeyValueConfig{
		Bucket:      BucketState,
		Description: "current state of each verification, updated by compare-and-set",
		History:     stateHistory,
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
	}
}

// EnsureTopology creates or updates the streams and the KV buckets so that they
// match the config; it is idempotent and safe to run from several services at
// once. With jetstream.manage_topology false it only checks that they exist.
func (b *Bus) EnsureTopology(ctx context.Context) error {
	if !b.cfg.ManageTopology {
		return b.Ready(ctx)
	}
	for _, sc := range b.streamConfigs() {
		if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range []jetstream.KeyValueConfig{b.kvConfig(), b.deliveriesConfig()} {
		if _, err := b.js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return fmt.Errorf("kv %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// EnsureTopologyRetrying runs [Bus.EnsureTopology] until it succeeds or ctx
// ends, waiting longer after each failure ([retry.Default]: 1 s doubling up
// to 15 s, jittered): at start NATS may not be up yet, or a cluster may still
// be electing its leaders.
func (b *Bus) EnsureTopologyRetrying(ctx context.Context) error {
	return retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return b.explain(b.EnsureTopology(actx))
	}, func(attempt int, wait time.Duration, err error) {
		b.log.Warn("jetstream topology not ready; retrying", zap.Int("attempt", attempt),
			zap.Duration("retry_in", wait), zap.Error(err))
	})
}
