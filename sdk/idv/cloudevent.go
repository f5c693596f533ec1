package idv

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SpecVersion is the CloudEvents version idvbus emits and reads.
const SpecVersion = "1.0"

// Media types of CloudEvents idvbus emits and reads.
const (
	// ContentTypeJSON is the datacontenttype of every idvbus event.
	ContentTypeJSON = "application/json"
	// ContentTypeCloudEventsJSON marks a structured-mode event: the whole
	// event as one JSON object.
	ContentTypeCloudEventsJSON = "application/cloudevents+json"
)

// CloudEvent is a CloudEvents 1.0 event as idvbus moves it: the context
// attributes, the extension attributes (as strings, the form they take in
// ce-* headers) and the data as bytes. It is a small type of its own so that
// consumers need no CloudEvents library (decisions.md, D32); its JSON
// encoding is the structured mode of the JSON event format.
type CloudEvent struct {
	SpecVersion string
	ID          string
	// Source is a URI reference: /sources/<configured source name>.
	Source string
	Type   string
	// Subject is the vendor's verification id; "" when absent.
	Subject string
	// Time is the zero time when absent.
	Time time.Time
	// DataContentType is "" when absent (JSON is then assumed).
	DataContentType string
	// DataSchema is an absolute URI, "" when absent.
	DataSchema string
	// Extensions holds the extension attributes by name (lower-case a-z,
	// 0-9), e.g. [ExtensionVendor].
	Extensions map[string]string
	Data       []byte
}

// Vendor returns the event's vendor extension, "" when it has none.
func (e CloudEvent) Vendor() string { return e.Extensions[ExtensionVendor] }

// ErrNotCloudEvent is returned by [FromNATS] for a message that carries no
// valid CloudEvent.
var ErrNotCloudEvent = errors.New("idv: not a CloudEvent")

// ErrWrongType is returned when decoding an event's data as the wrong type.
var ErrWrongType = errors.New("idv: wrong event type")

// DecodeVerificationUpdated returns the data of a [TypeVerificationUpdated] event.
func DecodeVerificationUpdated(e CloudEvent) (VerificationUpdated, error) {
	var d VerificationUpdated
	return d, decode(e, TypeVerificationUpdated, &d)
}

// DecodeCheckCompleted returns the data of a [TypeCheckCompleted] event.
func DecodeCheckCompleted(e CloudEvent) (CheckCompleted, error) {
	var d CheckCompleted
	return d, decode(e, TypeCheckCompleted, &d)
}

func decode(e CloudEvent, typ EventType, into any) error {
	if e.Type != string(typ) {
		return fmt.Errorf("%w: %q, want %q", ErrWrongType, e.Type, typ)
	}
	if err := json.Unmarshal(e.Data, into); err != nil {
		return fmt.Errorf("idv: decode %s data: %w", typ, err)
	}
	return nil
}
