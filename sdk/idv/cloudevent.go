package idv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
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

// NewVerificationUpdated builds a [TypeVerificationUpdated] CloudEvent.
func NewVerificationUpdated(m Meta, d VerificationUpdated) (cloudevents.Event, error) {
	return newEvent(TypeVerificationUpdated, m, d)
}

// NewCheckCompleted builds a [TypeCheckCompleted] CloudEvent.
func NewCheckCompleted(m Meta, d CheckCompleted) (cloudevents.Event, error) {
	return newEvent(TypeCheckCompleted, m, d)
}

func newEvent(typ string, m Meta, data any) (cloudevents.Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("idv: encode %s data: %w", typ, err)
	}
	return NewEventJSON(typ, m, b)
}

// ToNATS encodes e in binary mode for NATS: every attribute and extension
// becomes a `ce-<name>` header (times in RFC 3339 with nanoseconds) and the
// data is the body, exactly as sdk-go's binary NATS writer does (a test
// holds the two equal); Nats-Msg-Id is set to e.ID(). The returned message
// has no subject.
func ToNATS(e cloudevents.Event) (*nats.Msg, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("idv: encode event %s: %w", e.ID(), err)
	}
	h := make(nats.Header, 10)
	h["ce-specversion"] = []string{e.SpecVersion()}
	h["ce-id"] = []string{e.ID()}
	h["ce-source"] = []string{e.Source()}
	h["ce-type"] = []string{e.Type()}
	if v := e.Subject(); v != "" {
		h["ce-subject"] = []string{v}
	}
	if t := e.Time(); !t.IsZero() {
		h["ce-time"] = []string{t.Format(time.RFC3339Nano)}
	}
	if v := e.DataContentType(); v != "" {
		h["ce-datacontenttype"] = []string{v}
	}
	if v := e.DataSchema(); v != "" {
		h["ce-dataschema"] = []string{v}
	}
	for k, v := range e.Extensions() {
		h["ce-"+k] = []string{fmt.Sprint(v)}
	}
	h[NATSMsgIDHeader] = []string{e.ID()}
	return &nats.Msg{Header: h, Data: e.Data()}, nil
}

// EncodeNATS is [ToNATS] of the event [NewEventJSON] would build, without
// building it: the normalizer's hot path. Only the fields [NewEventJSON]
// validates are checked: id, source and type must not be empty.
func EncodeNATS(typ string, m Meta, data []byte) (*nats.Msg, error) {
	if m.ID == "" || m.Source == "" || typ == "" {
		return nil, fmt.Errorf("idv: encode event: id, source and type are required")
	}
	// One backing array for every header value: one allocation, not ten.
	vals := [...]string{cloudevents.VersionV1, m.ID, SourceURI(m.Source), typ, m.Subject, "",
		cloudevents.ApplicationJSON, SchemaURL(typ), m.Vendor, m.ID}
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
	h["ce-"+ExtensionVendor] = vals[8:9:9]
	set(NATSMsgIDHeader, 9)
	return &nats.Msg{Header: h, Data: data}, nil
}

// NATSMsgIDHeader is JetStream's de-duplication header; idvbus sets it to the
// CloudEvent id so a republished event is dropped by the stream.
const NATSMsgIDHeader = "Nats-Msg-Id"

// ErrNotCloudEvent is returned by [FromNATS] for a message that carries no
// CloudEvent.
var ErrNotCloudEvent = errors.New("idv: not a CloudEvent")

// FromNATS decodes a CloudEvent from a NATS message in binary mode (`ce-*`
// headers) or structured mode (a JSON event body). It only reads; acking the
// JetStream message stays with the caller.
func FromNATS(header nats.Header, data []byte) (cloudevents.Event, error) {
	m := cejs.NewMessage(&nats.Msg{Header: header, Data: data})
	e, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("%w: %v", ErrNotCloudEvent, err)
	}
	if err := e.Validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("%w: %v", ErrNotCloudEvent, err)
	}
	return *e, nil
}

// ErrWrongType is returned when decoding an event's data as the wrong type.
var ErrWrongType = errors.New("idv: wrong event type")

// DecodeVerificationUpdated returns the data of a [TypeVerificationUpdated] event.
func DecodeVerificationUpdated(e cloudevents.Event) (VerificationUpdated, error) {
	var d VerificationUpdated
	return d, decode(e, TypeVerificationUpdated, &d)
}

// DecodeCheckCompleted returns the data of a [TypeCheckCompleted] event.
func DecodeCheckCompleted(e cloudevents.Event) (CheckCompleted, error) {
	var d CheckCompleted
	return d, decode(e, TypeCheckCompleted, &d)
}

func decode(e cloudevents.Event, typ string, into any) error {
	if e.Type() != typ {
		return fmt.Errorf("%w: %q, want %q", ErrWrongType, e.Type(), typ)
	}
	if err := json.Unmarshal(e.Data(), into); err != nil {
		return fmt.Errorf("idv: decode %s data: %w", typ, err)
	}
	return nil
}

// NewEventJSON builds a CloudEvent of type typ whose data is already encoded
// JSON (as the normalizer keeps it in a verification's outbox).
func NewEventJSON(typ string, m Meta, data []byte) (cloudevents.Event, error) {
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	e.SetID(m.ID)
	e.SetSource(SourceURI(m.Source))
	e.SetType(typ)
	e.SetSubject(m.Subject)
	e.SetTime(m.Time)
	e.SetDataSchema(SchemaURL(typ))
	e.SetExtension(ExtensionVendor, m.Vendor)
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = data
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("idv: invalid %s event: %w", typ, err)
	}
	return e, nil
}
