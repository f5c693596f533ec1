package subscribe

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// delivery is one delivery of an event, with the metadata read once.
type delivery struct {
	jetstream.Msg
	streamSeq    uint64
	numDelivered uint64
	storedAt     time.Time
}

func newDelivery(jm jetstream.Msg) *delivery {
	d := &delivery{Msg: jm}
	if md, err := jm.Metadata(); err == nil {
		d.streamSeq, d.numDelivered, d.storedAt = md.Sequence.Stream, md.NumDelivered, md.Timestamp
	}
	return d
}

// maxReasonLen bounds the reason sent with a termination: it travels in a
// NATS header of the server's advisory.
const maxReasonLen = 200

// term terminates the delivery with a reason fit for a header: one line,
// printable ASCII, bounded.
func (d *delivery) term(reason string) error {
	b := []byte(reason)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = ' '
		}
	}
	if len(b) > maxReasonLen {
		b = b[:maxReasonLen]
	}
	return d.TermWithReason(string(b))
}
