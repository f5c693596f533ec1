package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ReceivedAtLayout is the Idv-Received-At format: RFC 3339 in UTC with exactly
// nine fractional digits, so values have one width and sort as text.
const ReceivedAtLayout = "2006-01-02T15:04:05.000000000Z"

// RawMessage is one authenticated webhook, as it is stored in IDV_RAW.
type RawMessage struct {
	Source      string
	Vendor      string
	MsgID       string // the raw dedup key, stored as Nats-Msg-Id
	RequestID   string
	ContentType string
	ReceivedAt  time.Time
	Body        []byte // stored unchanged
	// Header holds extra headers stored as they are: the W3C trace context
	// (lowercase traceparent, tracestate) when tracing is on. Nil adds none;
	// they never replace the headers above.
	Header nats.Header
}

// Stored is JetStream's answer to a raw publish.
type Stored struct {
	Seq uint64 // the stream sequence of the (first) copy
	// Duplicate is true when a byte-identical copy is within the duplicate
	// window: nothing new was stored.
	Duplicate bool
	// MsgID is the key the body is stored under: the MsgID asked for, or,
	// after a collision, [CollisionKey] of it.
	MsgID string
	// Collision is true when another body was already stored under the
	// MsgID asked for: this one is stored (or, if Duplicate, was stored
	// before) under the derived key.
	Collision bool
}

// CollisionKey is the dedup key of a body that arrived under a raw key
// already taken by a different body: "<key>:sha256:<hex of body>". It is
// deterministic, so the vendor's retry of that body is itself a duplicate,
// and the normalizer's event ids, derived from the raw key, stay stable.
func CollisionKey(key string, body []byte) string {
	sum := sha256.Sum256(body)
	return key + collisionMark + hex.EncodeToString(sum[:])
}

const collisionMark = ":sha256:"

// IsCollisionKey reports whether key, the raw key of a webhook of source, is
// a [CollisionKey]: "<source>:<vendor id>:sha256:<64 hex>". A plain body-hash
// key ("<source>:sha256:<64 hex>") is not one.
func IsCollisionKey(source, key string) bool {
	rest, ok := strings.CutPrefix(key, source+":")
	if !ok || strings.HasPrefix(rest, "sha256:") {
		return false
	}
	const n = len(collisionMark) + 2*sha256.Size
	if len(rest) <= n || rest[len(rest)-n:len(rest)-n+len(collisionMark)] != collisionMark {
		return false
	}
	for _, c := range rest[len(rest)-2*sha256.Size:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// PublishRaw stores m in IDV_RAW and returns once JetStream has acknowledged
// it (or reported it a duplicate). An error means the write is unconfirmed: it
// may or may not have been stored, and a retry with the same MsgID is safe.
//
// When JetStream reports a duplicate, the body stored under MsgID (the
// sequence the PubAck names) is compared with m.Body: a byte-identical body
// is a redelivery (Duplicate); a different one is a different webhook under a
// vendor id that is not unique, and is stored under [CollisionKey] (Collision)
// rather than dropped. A stored copy that can no longer be read (deleted) is
// treated as different: storing twice is safe, losing a webhook is not.
func (b *Bus) PublishRaw(ctx context.Context, m RawMessage) (Stored, error) {
	st, err := b.publishRaw(ctx, m)
	if err != nil || !st.Duplicate {
		return st, err
	}
	prev, err := b.GetMsg(ctx, StreamRaw, st.Seq)
	switch {
	case err == nil && prev.Header.Get(HeaderMsgID) == m.MsgID && bytes.Equal(prev.Data, m.Body):
		return st, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return Stored{}, fmt.Errorf("compare with the stored duplicate: %w", err)
	}
	m.MsgID = CollisionKey(m.MsgID, m.Body)
	st, err = b.publishRaw(ctx, m)
	st.Collision = err == nil
	return st, err
}

func (b *Bus) publishRaw(ctx context.Context, m RawMessage) (Stored, error) {
	msg := &nats.Msg{
		Subject: RawSubject(m.Vendor, m.Source),
		Header:  nats.Header{},
		Data:    m.Body,
	}
	for k, v := range m.Header {
		msg.Header[k] = v
	}
	// Set the map directly: nats.Header is case-sensitive and non-Go consumers
	// look for exactly these spellings.
	msg.Header[HeaderMsgID] = []string{m.MsgID}
	msg.Header[HeaderSource] = []string{m.Source}
	msg.Header[HeaderVendor] = []string{m.Vendor}
	msg.Header[HeaderReceivedAt] = []string{m.ReceivedAt.UTC().Format(ReceivedAtLayout)}
	msg.Header[HeaderRequestID] = []string{m.RequestID}
	if m.ContentType != "" {
		msg.Header[HeaderContentType] = []string{m.ContentType}
	}
	ack, err := b.js.PublishMsg(ctx, msg)
	if err == nil {
		err = inStream(ack, StreamRaw)
	}
	if err != nil {
		return Stored{}, fmt.Errorf("publish %s: %w", msg.Subject, b.explain(err))
	}
	return Stored{Seq: ack.Sequence, Duplicate: ack.Duplicate, MsgID: m.MsgID}, nil
}
