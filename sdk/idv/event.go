package idv

import (
	"slices"
	"time"
)

// EventType is the CloudEvent type of a normalized event.
type EventType string

// The CloudEvent types the normalizer emits.
const (
	// TypeVerificationUpdated: a verification's unified status changed.
	// Data: [VerificationUpdated].
	TypeVerificationUpdated EventType = "io.idvbus.verification.updated.v1"
	// TypeCheckCompleted: one check within a verification reported a result.
	// Data: [CheckCompleted].
	TypeCheckCompleted EventType = "io.idvbus.check.completed.v1"
)

// eventTypes are the types the normalizer emits; [EventTypes] hands out copies.
var eventTypes = [...]EventType{TypeVerificationUpdated, TypeCheckCompleted}

// EventTypes returns every event type the normalizer emits, in a new slice.
func EventTypes() []EventType { return slices.Clone(eventTypes[:]) }

// Valid reports whether t is one of the types the normalizer emits.
func (t EventType) Valid() bool { return t == TypeVerificationUpdated || t == TypeCheckCompleted }

// StreamEvents is the JetStream stream the normalizer stores its events in.
const StreamEvents = "IDV_EVENTS"

// SchemaBaseURL is where the JSON Schemas of schemas/ are published; an
// event's dataschema is SchemaBaseURL + "<type without the io.idvbus. prefix>.json".
const SchemaBaseURL = "https://raw.githubusercontent.com/idvbus/idvbus/main/schemas/"

// SchemaURL returns the dataschema of an event type: the URL of its JSON
// Schema file in schemas/. It is "" for an unknown type.
func SchemaURL(eventType EventType) string {
	switch eventType {
	case TypeVerificationUpdated:
		return SchemaBaseURL + "verification.updated.v1.json"
	case TypeCheckCompleted:
		return SchemaBaseURL + "check.completed.v1.json"
	}
	return ""
}

// SourceURI returns the CloudEvent source of events from a configured source.
func SourceURI(source string) string { return "/sources/" + source }

// ExtensionVendor is the CloudEvent extension attribute naming the vendor.
const ExtensionVendor = "vendor"

// RawRef points at the raw webhook an event was derived from.
type RawRef struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
}

// VerificationUpdated is the data of a [TypeVerificationUpdated] event.
type VerificationUpdated struct {
	VerificationID string `json:"verification_id"`
	Vendor         string `json:"vendor"`
	Source         string `json:"source"`
	// ReferenceID is the customer's own id where the vendor sends one.
	ReferenceID string `json:"reference_id,omitempty"`
	Status      Status `json:"status"`
	// PreviousStatus is empty on a verification's first status.
	PreviousStatus Status    `json:"previous_status,omitempty"`
	Terminal       bool      `json:"terminal"`
	DecidedBy      DecidedBy `json:"decided_by"`
	// Revision counts the verification's emitted status changes: 1, 2, 3...
	Revision    uint64 `json:"revision"`
	VendorEvent string `json:"vendor_event"`
	// VendorStatus is the vendor's own status or decision word, when it sends one.
	VendorStatus string    `json:"vendor_status,omitempty"`
	OccurredAt   time.Time `json:"occurred_at"`
	ReceivedAt   time.Time `json:"received_at"`
	Raw          RawRef    `json:"raw"`
}

// CheckCompleted is the data of a [TypeCheckCompleted] event.
type CheckCompleted struct {
	VerificationID string `json:"verification_id"`
	Vendor         string `json:"vendor"`
	Source         string `json:"source"`
	ReferenceID    string `json:"reference_id,omitempty"`
	Check          Check  `json:"check"`
	Result         Result `json:"result"`
	// VendorCheck is the vendor's name of the check (e.g. "verification/selfie").
	VendorCheck string `json:"vendor_check"`
	// VendorResult is the vendor's own result value, when it sends one.
	VendorResult string    `json:"vendor_result,omitempty"`
	OccurredAt   time.Time `json:"occurred_at"`
	ReceivedAt   time.Time `json:"received_at"`
	Raw          RawRef    `json:"raw"`
}

// VerificationSubject returns the IDV_EVENTS subject of a status change:
// idv.events.<vendor>.verification.<status>.
func VerificationSubject(vendor string, s Status) string {
	return "idv.events." + vendor + ".verification." + string(s)
}

// CheckSubject returns the IDV_EVENTS subject of a check result:
// idv.events.<vendor>.check.<check>.
func CheckSubject(vendor string, c Check) string {
	return "idv.events." + vendor + ".check." + string(c)
}
