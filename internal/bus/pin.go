package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys on a pinned consumer naming the instance that was given the
// current pin and the pin id it was given. They let a restarted process
// recognize its dead predecessor's pin ([Bus.ReclaimPin]).
const (
	metaPinInstance = "idvbus.pin.instance"
	metaPinID       = "idvbus.pin.id"
)

// notePin records on the consumer that instance holds pin id, when this
// puller was just given a new pin. Best effort: without the record, a
// restart waits out PinnedTTL as any standby does.
func (p *Puller) notePin(ctx context.Context, id string) {
	if p.instance == "" {
		return
	}
	info, err := p.cons.Info(ctx)
	if err != nil {
		return
	}
	cfg := info.Config
	if cfg.Metadata[metaPinInstance] == p.instance && cfg.Metadata[metaPinID] == id {
		return
	}
	md := make(map[string]string, len(cfg.Metadata)+2)
	for k, v := range cfg.Metadata {
		md[k] = v
	}
	md[metaPinInstance], md[metaPinID] = p.instance, id
	cfg.Metadata = md
	_, _ = p.js.UpdateConsumer(ctx, info.Stream, cfg)
}

// ReclaimPin takes the pin of durable's priority group back at once when it
// is held by a process that called itself instance (recorded when it was
// given the pin): a process that starts under that name is its restart, so
// the holder is dead and waiting out PinnedTTL would only delay the work. It
// reports whether it unpinned. A pin held under another name (a live
// standby's active peer) is left alone.
func (b *Bus) ReclaimPin(ctx context.Context, stream, durable, group, instance string) (bool, error) {
	if instance == "" {
		return false, nil
	}
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		return false, fmt.Errorf("consumer %s: %w", durable, err)
	}
	info := c.CachedInfo()
	md := info.Config.Metadata
	if md[metaPinInstance] != instance || md[metaPinID] == "" {
		return false, nil
	}
	for _, g := range info.PriorityGroups {
		if g.Group == group && g.PinnedClientID == md[metaPinID] {
			st, err := b.js.Stream(ctx, stream)
			if err != nil {
				return false, fmt.Errorf("stream %s: %w", stream, err)
			}
			if err := st.UnpinConsumer(ctx, durable, group); err != nil {
				return false, fmt.Errorf("unpin %s: %w", durable, err)
			}
			return true, nil
		}
	}
	return false, nil
}

// keepPinMetadata carries the pin record of an existing consumer into a
// configuration that replaces it, so [Bus.EnsureConsumer] run by another
// process does not erase it.
func keepPinMetadata(want *jetstream.ConsumerConfig, have jetstream.ConsumerConfig) {
	if have.Metadata[metaPinInstance] == "" {
		return
	}
	md := make(map[string]string, len(want.Metadata)+2)
	for k, v := range want.Metadata {
		md[k] = v
	}
	md[metaPinInstance], md[metaPinID] = have.Metadata[metaPinInstance], have.Metadata[metaPinID]
	want.Metadata = md
}
