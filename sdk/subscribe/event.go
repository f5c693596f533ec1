package subscribe

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Event is what a handler learns of a delivered event besides its data: the
// CloudEvent's attributes and where the event is in IDV_EVENTS.
type Event struct {
	// ID is the CloudEvent id: the same on every redelivery and replay of
	// this event, so it is the key to deduplicate on.
	ID string
	// Type is the CloudEvent type, e.g. [idv.TypeVerificationUpdated].
	Type string
	// Source is the CloudEvent source: /sources/<configured source name>.
	Source string
	// Subject is the CloudEvent subject: the vendor's verification id.
	Subject string
	// Vendor is the CloudEvent's vendor extension, e.g. "persona".
	Vendor string
	// Time is the vendor's event time when it gives one, else when idvbus
	// received the webhook.
	Time time.Time

	// StreamSeq is the event's sequence number in IDV_EVENTS.
	StreamSeq uint64
	// NumDelivered counts the deliveries of this event to the durable
	// consumer, this one included: 1 the first time.
	NumDelivered uint64
	// StoredAt is when the event was stored in IDV_EVENTS.
	StoredAt time.Time
}

// Headers of a binary-mode CloudEvent that locate it (CONTRACT.md: the
// attributes travel as ce-* NATS headers).
const (
	headerID      = "ce-id"
	headerType    = "ce-type"
	headerSource  = "ce-source"
	headerSubject = "ce-subject"
	headerVendor  = "ce-" + idv.ExtensionVendor
)

// metaOf describes a delivered message from its headers alone, so that even
// an event that does not decode can be reported.
func metaOf(m *bus.Msg) Event {
	h := m.Header()
	return Event{
		ID: first(h, headerID), Type: first(h, headerType), Source: first(h, headerSource),
		Subject: first(h, headerSubject), Vendor: first(h, headerVendor),
		StreamSeq: m.StreamSeq, NumDelivered: m.NumDelivered, StoredAt: m.Timestamp,
	}
}

// withCloudEvent fills ev's attributes from a decoded CloudEvent (which may
// have come in structured mode, without ce-* headers).
func withCloudEvent(ev Event, e cloudevents.Event) Event {
	ev.ID, ev.Type, ev.Source, ev.Subject, ev.Time = e.ID(), e.Type(), e.Source(), e.Subject(), e.Time()
	if v, ok := e.Extensions()[idv.ExtensionVendor].(string); ok {
		ev.Vendor = v
	}
	return ev
}

// orderKey is the key under which a message's events are handled one at a
// time: its verification (vendor and CloudEvent subject). Messages without
// a subject have no order to keep.
func orderKey(m *bus.Msg) string {
	h := m.Header()
	subject := first(h, headerSubject)
	if subject == "" {
		return ""
	}
	return first(h, headerVendor) + "/" + subject
}

// first returns the first value of a header, "" when absent. NATS headers
// are case-sensitive and idvbus writes ce-* in lower case.
func first(h nats.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
