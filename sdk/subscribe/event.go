package subscribe

import (
	"time"

	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Event is what a handler learns of a delivered event besides its data: the
// CloudEvent's attributes and where the event is in IDV_EVENTS.
type Event struct {
	// ID is the CloudEvent id: the same on every redelivery and replay of
	// this event, so it is the key to deduplicate on.
	ID string
	// Type is the CloudEvent type, e.g. [idv.TypeVerificationUpdated].
	Type idv.EventType
	// Source is the CloudEvent source: /sources/<configured source name>.
	Source string
	// Subject is the CloudEvent subject: the vendor's verification id
	// (percent-decoded from its ce-subject header).
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
	headerID      = idv.HeaderPrefix + "id"
	headerType    = idv.HeaderPrefix + "type"
	headerSource  = idv.HeaderPrefix + "source"
	headerSubject = idv.HeaderPrefix + "subject"
	headerVendor  = idv.HeaderPrefix + idv.ExtensionVendor
)

// metaOf describes a delivered message from its headers alone, so that even
// an event that does not decode can be reported.
func metaOf(m *delivery) Event {
	h := m.Headers()
	return Event{
		ID: decoded(h, headerID), Type: idv.EventType(decoded(h, headerType)), Source: decoded(h, headerSource),
		Subject: decoded(h, headerSubject), Vendor: decoded(h, headerVendor),
		StreamSeq: m.streamSeq, NumDelivered: m.numDelivered, StoredAt: m.storedAt,
	}
}

// withCloudEvent fills ev's attributes from a decoded CloudEvent (which may
// have come in structured mode, without ce-* headers).
func withCloudEvent(ev Event, e idv.CloudEvent) Event {
	ev.ID, ev.Type, ev.Source, ev.Subject, ev.Time, ev.Vendor = e.ID, idv.EventType(e.Type), e.Source, e.Subject, e.Time, e.Vendor()
	return ev
}

// orderKey is the key under which a message's events are handled one at a
// time: its verification (vendor and CloudEvent subject, as encoded in
// their headers: the encoding is one to one). Messages without a subject
// have no order to keep.
func orderKey(m *delivery) string {
	h := m.Headers()
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

// decoded is first, percent-decoded; a value that does not decode is
// reported as it is (it is only used to describe an event).
func decoded(h nats.Header, key string) string {
	v := first(h, key)
	if d, err := idv.DecodeHeaderValue(v); err == nil {
		return d
	}
	return v
}
