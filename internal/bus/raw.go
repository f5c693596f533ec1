package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	Seq       uint64 // the stream sequence of the (first) copy
	Duplicate bool   // true: an earlier copy with the same MsgID is within the duplicate window
}

// PublishRaw stores m in IDV_RAW and returns once JetStream has acknowledged
// it (or reported it a duplicate). An error means the write is unconfirmed: it
// may or may not have been stored, and a retry with the same MsgID is safe.
func (b *Bus) PublishRaw(ctx context.Context, m RawMessage) (Stored, error) {
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
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(StreamRaw))
	if err != nil {
		return Stored{}, fmt.Errorf("publish %s: %w", msg.Subject, b.explain(err))
	}
	return Stored{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
