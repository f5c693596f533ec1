// Package bus owns idvbus's JetStream topology and is the only package that
// speaks the jetstream API: the streams IDV_RAW, IDV_EVENTS and IDV_DLQ, the KV
// buckets IDV_STATE and IDV_DELIVERIES, their subjects and headers, and the
// connection to NATS.
// Other packages use it through small interfaces they declare themselves.
package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
)

// Names of the streams and the KV bucket (docs/contract.md, "JetStream topology").
const (
	StreamRaw    = "IDV_RAW"
	StreamEvents = "IDV_EVENTS"
	StreamDLQ    = "IDV_DLQ"
	BucketState  = "IDV_STATE"
)

// Headers of a raw webhook in IDV_RAW.
const (
	HeaderMsgID       = jetstream.MsgIDHeader // "Nats-Msg-Id": the raw dedup key
	HeaderSource      = "Idv-Source"
	HeaderVendor      = "Idv-Vendor"
	HeaderReceivedAt  = "Idv-Received-At" // RFC 3339, UTC, nanoseconds
	HeaderRequestID   = "Idv-Request-Id"
	HeaderContentType = "Idv-Content-Type"
)

// RawSubject is the subject a raw webhook of one source is stored under:
// idv.raw.<vendor>.<source>.
func RawSubject(vendor, source string) string { return "idv.raw." + vendor + "." + source }

// Bus is a JetStream context bound to idvbus's topology. It is safe for
// concurrent use.
type Bus struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg config.JetStream
	log *zap.Logger
}

// New binds a connection to the topology described by cfg. It does no I/O:
// call [Bus.EnsureTopology] before use.
func New(nc *nats.Conn, cfg config.JetStream, log *zap.Logger) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	return &Bus{nc: nc, js: js, cfg: cfg, log: log}, nil
}

// Conn returns the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// ErrNotConnected is matched by the errors of [Bus.Ready] and of other
// operations while the connection to NATS is down (a [NotConnectedError]).
var ErrNotConnected = errors.New("not connected to NATS")

// Ready reports whether NATS is reachable and every stream and KV bucket
// exists. It is what /readyz answers.
func (b *Bus) Ready(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return notConnected(b.nc, nil)
	}
	for _, name := range []string{StreamRaw, StreamEvents, StreamDLQ} {
		if _, err := b.js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	for _, name := range []string{BucketState, BucketDeliveries} {
		if _, err := b.js.KeyValue(ctx, name); err != nil {
			return fmt.Errorf("kv %s: %w", name, err)
		}
	}
	return nil
}

// MaxPayload is the largest message the connected server accepts (0 before the
// first connection).
func (b *Bus) MaxPayload() int64 { return b.nc.MaxPayload() }

// ServerURL is the URL of the server the connection uses now, without credentials.
func (b *Bus) ServerURL() string { return b.nc.ConnectedUrlRedacted() }
