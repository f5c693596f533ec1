// Package events builds idvbus's normalized CloudEvents and encodes them
// for NATS (binary mode) and for sdk-go's bindings: the server's side of
// the events, which subscribers never need (they decode with sdk/idv).
package events

import (
	"encoding/json"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Meta is what every emitted CloudEvent carries besides its data.
type Meta struct {
	// ID is deterministic: the same raw webhook always yields the same ids.
	ID     string
	Source string // configured source name; the CloudEvent source is /sources/<Source>
	Vendor string
	// Subject is the vendor's verification id.
	Subject string
	// Time is the vendor's event time, else the time ingest received the webhook.
	Time time.Time
}

// NATSMsgIDHeader is JetStream's de-duplication header; idvbus sets it to the
// CloudEvent id so a republished event is dropped by the stream.
const NATSMsgIDHeader = "Nats-Msg-Id"

// NewVerificationUpdated builds an [idv.TypeVerificationUpdated] CloudEvent.
func NewVerificationUpdated(m Meta, d idv.VerificationUpdated) (cloudevents.Event, error) {
	return newEvent(idv.TypeVerificationUpdated, m, d)
}

// NewCheckCompleted builds an [idv.TypeCheckCompleted] CloudEvent.
func NewCheckCompleted(m Meta, d idv.CheckCompleted) (cloudevents.Event, error) {
	return newEvent(idv.TypeCheckCompleted, m, d)
}

func newEvent(typ idv.EventType, m Meta, data any) (cloudevents.Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("events: encode %s data: %w", typ, err)
	}
	return NewEventJSON(string(typ), m, b)
}

// NewEventJSON builds a CloudEvent of type typ whose data is already encoded
// JSON (as the normalizer keeps it in a verification's outbox).
func NewEventJSON(typ string, m Meta, data []byte) (cloudevents.Event, error) {
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	e.SetID(m.ID)
	e.SetSource(idv.SourceURI(m.Source))
	e.SetType(typ)
	e.SetSubject(m.Subject)
	e.SetTime(m.Time)
	e.SetDataSchema(idv.SchemaURL(idv.EventType(typ)))
	e.SetExtension(idv.ExtensionVendor, m.Vendor)
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = data
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("events: invalid %s event: %w", typ, err)
	}
	return e, nil
}

// ToNATS encodes e in binary mode for NATS: every attribute and extension
// becomes a `ce-<name>` header, its value percent-encoded as the
// CloudEvents bindings require ([idv.EncodeHeaderValue]; times in RFC 3339
// with nanoseconds), and the data is the body. For values that need no
// encoding that is exactly what sdk-go's binary NATS writer writes (a test
// holds the two equal). Nats-Msg-Id is set to e.ID(). The returned message
// has no subject.
func ToNATS(e cloudevents.Event) (*nats.Msg, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("events: encode event %s: %w", e.ID(), err)
	}
	h := make(nats.Header, 10)
	set := func(name, v string) {
		if v != "" {
			h[idv.HeaderPrefix+name] = []string{idv.EncodeHeaderValue(v)}
		}
	}
	set("specversion", e.SpecVersion())
	set("id", e.ID())
	set("source", e.Source())
	set("type", e.Type())
	set("subject", e.Subject())
	if t := e.Time(); !t.IsZero() {
		set("time", t.Format(time.RFC3339Nano))
	}
	set("datacontenttype", e.DataContentType())
	set("dataschema", e.DataSchema())
	for k, v := range e.Extensions() {
		set(k, fmt.Sprint(v))
	}
	h[NATSMsgIDHeader] = []string{e.ID()}
	return &nats.Msg{Header: h, Data: e.Data()}, nil
}

// EncodeNATS is [ToNATS] of the event [NewEventJSON] would build, without
// building it: the normalizer's hot path. Only the fields [NewEventJSON]
// validates are checked: id, source and type must not be empty.
func EncodeNATS(typ idv.EventType, m Meta, data []byte) (*nats.Msg, error) {
	if m.ID == "" || m.Source == "" || typ == "" {
		return nil, fmt.Errorf("events: encode event: id, source and type are required")
	}
	// One backing array for every header value: one allocation, not ten.
	// Only what a vendor chose (the subject) and what the configuration
	// names can need percent-encoding; the id and the time never do, but
	// every value goes through the same encoder, which returns a value that
	// needs none as it is, without allocating.
	vals := [...]string{cloudevents.VersionV1, idv.EncodeHeaderValue(m.ID), idv.EncodeHeaderValue(idv.SourceURI(m.Source)),
		idv.EncodeHeaderValue(string(typ)), idv.EncodeHeaderValue(m.Subject), "", cloudevents.ApplicationJSON,
		idv.EncodeHeaderValue(idv.SchemaURL(typ)), idv.EncodeHeaderValue(m.Vendor), m.ID}
	h := make(nats.Header, len(vals))
	set := func(k string, i int) {
		if vals[i] != "" {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	if !m.Time.IsZero() {
		vals[5] = m.Time.Format(time.RFC3339Nano)
	}
	set("ce-specversion", 0)
	set("ce-id", 1)
	set("ce-source", 2)
	set("ce-type", 3)
	set("ce-subject", 4)
	set("ce-time", 5)
	set("ce-datacontenttype", 6)
	set("ce-dataschema", 7)
	h["ce-"+idv.ExtensionVendor] = vals[8:9:9]
	set(NATSMsgIDHeader, 9)
	return &nats.Msg{Header: h, Data: data}, nil
}

// ToSDK converts a decoded event (see [idv.FromNATS]) to sdk-go's type, for
// the notifier's HTTP binding.
func ToSDK(e idv.CloudEvent) (cloudevents.Event, error) {
	out := cloudevents.NewEvent(e.SpecVersion)
	out.SetID(e.ID)
	out.SetSource(e.Source)
	out.SetType(e.Type)
	if e.Subject != "" {
		out.SetSubject(e.Subject)
	}
	if !e.Time.IsZero() {
		out.SetTime(e.Time)
	}
	if e.DataContentType != "" {
		out.SetDataContentType(e.DataContentType)
	}
	if e.DataSchema != "" {
		out.SetDataSchema(e.DataSchema)
	}
	for k, v := range e.Extensions {
		out.SetExtension(k, v)
	}
	out.DataEncoded = e.Data
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("events: event %s: %w", e.ID, err)
	}
	return out, nil
}
