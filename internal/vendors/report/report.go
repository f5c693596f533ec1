// Package report is the contract between a vendor parser and the normalizer:
// what one vendor webhook says, already in the unified vocabulary of
// package idv, but before any state (ordering, duplicates, revisions,
// decision policy) is applied.
package report

import (
	"errors"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Report is what one vendor webhook says about one verification.
type Report struct {
	// Event is the vendor's name of the event (vendor_event), e.g.
	// "inquiry.approved", "ONBOARDING_FINISHED", "Finished Journey", "credas:1".
	Event string
	// VerificationID is the vendor's id of the verification (inquiry,
	// interview, journey, entity). Required unless Ignored is set.
	VerificationID string
	// ReferenceID is the customer's own id, where the vendor sends one.
	ReferenceID string
	// OccurredAt is the vendor's event time; zero when the vendor gives none.
	// When set, the normalizer orders by it (contract rule 3), else by status
	// rank (rule 4).
	OccurredAt time.Time
	// Key identifies the vendor event for the per-verification duplicate
	// memory, stable across vendor retries even when the body is
	// re-serialized (e.g. Incode "<interviewId>:<onboardingStatus>"). Empty:
	// the raw dedup key (Nats-Msg-Id) is used.
	Key string
	// Status is the verification status the event reports; nil when it
	// reports none (a check-only event).
	Status *StatusUpdate
	// Checks are the check results the event reports, in a stable order.
	Checks []CheckUpdate
	// Ignored, when set, says why this event changes nothing (an unknown or
	// irrelevant event name). It is counted and logged, not an error.
	Ignored string
	// Unmapped lists vendor values the parser did not recognise but
	// tolerated (e.g. "NameCheckVerificationResult=9"); counted and logged.
	Unmapped []string
}

// StatusUpdate is a verification status reported by the vendor.
type StatusUpdate struct {
	Status idv.Status
	// VendorStatus is the vendor's own word for it (vendor_status).
	VendorStatus string
	// DecidedBy is idv.DecidedByVendor or idv.DecidedByManualReview.
	DecidedBy idv.DecidedBy
}

// CheckUpdate is one check result reported by the vendor.
type CheckUpdate struct {
	Check  idv.Check
	Result idv.Result
	// VendorCheck is the vendor's name of the check (vendor_check).
	VendorCheck string
	// VendorResult is the vendor's own result value (vendor_result), if any.
	VendorResult string
	// ID identifies this check instance within the verification (e.g.
	// Persona's "ver_..." id); results of the same ID are ordered by
	// OccurredAt. Empty: VendorCheck is used.
	ID string
}

// Parser turns a raw vendor webhook body into a Report.
//
// Parse must not panic on any input, must tolerate unknown fields and
// unknown event names (returning a Report with Ignored set), and must return
// an error wrapping [ErrInvalid] for a body it cannot read (not JSON, wrong
// shape, missing or malformed ids or times). Error messages name fields,
// never their values: they end up in logs and dead-letter headers, and
// verification data is personal data.
type Parser interface {
	Parse(body []byte) (Report, error)
}

// ErrInvalid marks a body that cannot be normalized: a permanent error, so
// the normalizer dead-letters the message at once.
var ErrInvalid = errors.New("invalid payload")

// ErrNoParser is returned when a vendor has no normalizer yet; its webhooks
// are stored by ingest and dead-lettered by the normalizer.
var ErrNoParser = errors.New("vendor has no normalizer")

// ErrOptions is returned for result tables or other parser options a vendor
// does not accept.
var ErrOptions = errors.New("invalid vendor options")

// Options configure a vendor's parser per source.
type Options struct {
	// Results overrides a vendor's table of numeric result values:
	// check name (or "default") → vendor value → unified result. Only
	// vendors whose results are numeric codes (Credas) accept it.
	Results map[string]map[string]idv.Result
}

// MaxIDLen bounds verification and reference ids; longer ones are invalid.
const MaxIDLen = 200

// ValidID reports whether s can be used as an id: 1..MaxIDLen bytes, valid
// UTF-8 without control characters.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

// IsObject reports whether body's first non-space byte opens a JSON object:
// a cheap first check before decoding.
func IsObject(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
