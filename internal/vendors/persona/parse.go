package persona

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// NewParser returns Persona's parser. Persona has no numeric result tables,
// so any opts.Results is an error wrapping [report.ErrOptions].
func (Vendor) NewParser(opts report.Options) (report.Parser, error) {
	if len(opts.Results) > 0 {
		return nil, fmt.Errorf("%w: persona has no result tables", report.ErrOptions)
	}
	return parser{}, nil
}

// parser is stateless and safe for concurrent use.
type parser struct{}

// envelope is the part of a Persona event the parser reads; every other field
// is skipped by the decoder without being stored.
type envelope struct {
	Data struct {
		Attributes struct {
			Name      string    `json:"name"`
			CreatedAt optString `json:"created-at"`
			Payload   struct {
				Data resource `json:"data"`
				// Included is kept raw and decoded only for verification and
				// report events, the only ones that read it.
				Included json.RawMessage `json:"included"`
			} `json:"payload"`
		} `json:"attributes"`
	} `json:"data"`
}

// resource is the payload's primary JSON:API object (an inquiry, a
// verification, a report...).
type resource struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		Status      optString `json:"status"`
		ReferenceID string    `json:"reference-id"`
	} `json:"attributes"`
	Relationships struct {
		Inquiry struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"inquiry"`
	} `json:"relationships"`
}

// includedObject is one element of payload.included[].
type includedObject struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		ReferenceID json.RawMessage `json:"reference-id"`
	} `json:"attributes"`
}

// Field names used in error messages (never values).
const (
	fName       = "data.attributes.name"
	fCreatedAt  = "data.attributes.created-at"
	fType       = "data.attributes.payload.data.type"
	fID         = "data.attributes.payload.data.id"
	fRefID      = "data.attributes.payload.data.attributes.reference-id"
	fInquiryRel = "data.attributes.payload.data.relationships.inquiry.data.id"
	fIncRefID   = "data.attributes.payload.included[].attributes.reference-id"
)

// unmappedCreatedAt reports a created-at that is not an RFC 3339 time (the
// event is applied with the received time).
const unmappedCreatedAt = fCreatedAt + "=not an RFC 3339 time"

// Reasons for ignored events; constant strings, never body values.
const (
	ignUnknown       = "unknown event"
	ignNotTracked    = "event not tracked"
	ignNoInquiry     = "inquiry event without inquiry payload"
	ignNoStatus      = "inquiry event without status"
	ignUnknownStatus = "unknown inquiry status"
	ignNoResult      = "verification has no result yet"
	ignReportAction  = "report action carries no result"
	ignReportOrphan  = "report not attached to an inquiry"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{report.ErrInvalid}, args...)...)
}

// Parse reads one Persona webhook body. See the package documentation for
// what each event maps to.
func (parser) Parse(body []byte) (report.Report, error) {
	if !report.IsObject(body) {
		return report.Report{}, invalid("body is not a JSON object")
	}
	var env envelope
	// typeErr is a value of the wrong JSON type somewhere in the body. The
	// decoder still fills every other field, so an event that is ignored
	// anyway stays ignored; an event the parser uses fails with typeErr.
	var typeErr error
	if err := json.Unmarshal(body, &env); err != nil {
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) {
			return report.Report{}, invalid("body is not valid JSON")
		}
		typeErr = invalid("%s has the wrong JSON type", fieldName(ute.Field))
	}
	a := &env.Data.Attributes
	if !report.ValidID(a.Name) {
		return report.Report{}, invalid("%s missing or malformed", fName)
	}
	r := report.Report{Event: a.Name}
	// The event time is optional: without a usable created-at the
	// normalizer uses the received time and orders by status rank (contract
	// rule 4). An unreadable one is reported as unmapped, by field name only.
	switch c := a.CreatedAt; {
	case c.set && c.s == "":
	case c.set:
		if at, err := time.Parse(time.RFC3339, c.s); err == nil && !at.IsZero() {
			r.OccurredAt = at.UTC()
		} else {
			r.Unmapped = []string{unmappedCreatedAt}
		}
	case c.other:
		r.Unmapped = []string{unmappedCreatedAt}
	}
	p := &a.Payload.Data

	name := a.Name
	switch {
	case strings.HasPrefix(name, "inquiry."):
		return inquiryEvent(r, name[len("inquiry."):], p, typeErr)
	case strings.HasPrefix(name, "verification."):
		return verificationEvent(r, name[len("verification."):], p, a.Payload.Included, typeErr)
	case strings.HasPrefix(name, "report/"):
		return reportEvent(r, name[len("report/"):], p, a.Payload.Included, typeErr)
	case notTracked(name):
		r.Ignored = ignNotTracked
	default:
		r.Ignored = ignUnknown
	}
	r.VerificationID = inquiryIDOf(p)
	return r, nil
}

// notTracked reports whether name belongs to a Persona event family that
// says nothing about an inquiry's status or checks.
func notTracked(name string) bool {
	for _, prefix := range [...]string{"inquiry-session.", "account.", "case.", "document.", "selfie.", "transaction."} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// inquiryIDOf returns the inquiry id of an ignored event's payload when it is
// at hand and valid, else "".
func inquiryIDOf(p *resource) string {
	id := p.Relationships.Inquiry.Data.ID
	if p.Type == "inquiry" {
		id = p.ID
	}
	if report.ValidID(id) {
		return id
	}
	return ""
}

// inquiryEventStatus maps the status-change inquiry events (by the event
// name's suffix) to the unified status. Persona documents both
// "marked-for-review" and "needs_review" as the needs-review event name.
var inquiryEventStatus = map[string]idv.Status{
	"created":           idv.StatusCreated,
	"started":           idv.StatusInProgress,
	"completed":         idv.StatusPassed,
	"failed":            idv.StatusFailed,
	"expired":           idv.StatusExpired,
	"approved":          idv.StatusApproved,
	"declined":          idv.StatusDeclined,
	"marked-for-review": idv.StatusNeedsReview,
	"needs_review":      idv.StatusNeedsReview,
}

// inquiryStatus maps Persona's inquiry `status` attribute to the unified
// status, for inquiry events whose name is not a status change.
var inquiryStatus = map[string]idv.Status{
	"created":      idv.StatusCreated,
	"pending":      idv.StatusInProgress,
	"completed":    idv.StatusPassed,
	"failed":       idv.StatusFailed,
	"expired":      idv.StatusExpired,
	"approved":     idv.StatusApproved,
	"declined":     idv.StatusDeclined,
	"needs_review": idv.StatusNeedsReview,
}

func inquiryEvent(r report.Report, action string, p *resource, typeErr error) (report.Report, error) {
	status, statusEvent := inquiryEventStatus[action]
	if p.Type != "inquiry" {
		if !statusEvent {
			r.Ignored = ignNoInquiry
			return r, nil
		}
		if typeErr != nil {
			return report.Report{}, typeErr
		}
		return report.Report{}, invalid("%s is not inquiry", fType)
	}
	if typeErr != nil {
		return report.Report{}, typeErr
	}
	if !report.ValidID(p.ID) {
		return report.Report{}, invalid("%s missing or malformed", fID)
	}
	r.VerificationID = p.ID
	if ref := p.Attributes.ReferenceID; ref != "" {
		if !report.ValidID(ref) {
			return report.Report{}, invalid("%s malformed", fRefID)
		}
		r.ReferenceID = ref
	}
	vs := p.Attributes.Status
	if statusEvent {
		vendorStatus := action
		if vs.set && isToken(vs.s) {
			vendorStatus = vs.s
		}
		r.Status = &report.StatusUpdate{Status: status, VendorStatus: vendorStatus, DecidedBy: idv.DecidedByVendor}
		return r, nil
	}
	switch {
	case !vs.set && !vs.other || vs.set && vs.s == "":
		r.Ignored = ignNoStatus
	case vs.set && inquiryStatus[vs.s] != "":
		r.Status = &report.StatusUpdate{Status: inquiryStatus[vs.s], VendorStatus: vs.s, DecidedBy: idv.DecidedByVendor}
	default:
		r.Ignored = ignUnknownStatus
		if vs.set && isToken(vs.s) {
			r.Unmapped = append(r.Unmapped, "status="+vs.s)
		} else {
			r.Unmapped = append(r.Unmapped, "status=<unrecognized>")
		}
	}
	return r, nil
}

// verificationResult maps a verification event's action to the unified
// result. tentatively-* are Persona's provisional outcomes, hence pending.
var verificationResult = map[string]idv.Result{
	"passed":             idv.ResultPassed,
	"failed":             idv.ResultFailed,
	"requires-retry":     idv.ResultFailed,
	"canceled":           idv.ResultNotPerformed,
	"skipped":            idv.ResultNotPerformed,
	"escalated":          idv.ResultNeedsReview,
	"tentatively-passed": idv.ResultPending,
	"tentatively-failed": idv.ResultPending,
}

// verificationCheck maps a verification subtype (after "verification/") to
// the unified check.
func verificationCheck(sub string) idv.Check {
	switch sub {
	case "driver-license", "passport", "id-card", "document-with-photo":
		return idv.CheckDocument
	case "selfie":
		return idv.CheckSelfie
	case "database", "database-standard", "database-business":
		return idv.CheckDatabase
	case "aamva":
		return idv.CheckGovernmentValidation
	case "document":
		return idv.CheckSupportingDocument
	}
	if strings.HasPrefix(sub, "government-id") { // government-id, government-id-nfc, ...
		return idv.CheckDocument
	}
	return idv.CheckOther
}

func verificationEvent(r report.Report, action string, p *resource, included json.RawMessage, typeErr error) (report.Report, error) {
	result, ok := verificationResult[action]
	if !ok {
		r.Ignored = ignUnknown
		switch action {
		case "created", "submitted", "updated-tags":
			r.Ignored = ignNoResult
		}
		r.VerificationID = inquiryIDOf(p)
		return r, nil
	}
	if typeErr != nil {
		return report.Report{}, typeErr
	}
	if !strings.HasPrefix(p.Type, "verification/") || !report.ValidID(p.Type) {
		return report.Report{}, invalid("%s is not a verification", fType)
	}
	if !report.ValidID(p.ID) {
		return report.Report{}, invalid("%s missing or malformed", fID)
	}
	inq := p.Relationships.Inquiry.Data.ID
	if inq == "" {
		return report.Report{}, invalid("verification event without inquiry relationship")
	}
	if !report.ValidID(inq) {
		return report.Report{}, invalid("%s malformed", fInquiryRel)
	}
	r.VerificationID = inq
	ref, err := includedReferenceID(included, inq)
	if err != nil {
		return report.Report{}, err
	}
	r.ReferenceID = ref
	vendorResult := action
	if vs := p.Attributes.Status; vs.set && isToken(vs.s) {
		vendorResult = vs.s
	}
	r.Checks = []report.CheckUpdate{{
		Check:        verificationCheck(p.Type[len("verification/"):]),
		Result:       result,
		VendorCheck:  p.Type,
		VendorResult: vendorResult,
		ID:           p.ID,
	}}
	return r, nil
}

// reportResult maps a report event's action to the unified result: "ready"
// says the report finished (its outcome is fetched from the API), "matched"
// that it found a hit a person must look at.
var reportResult = map[string]idv.Result{
	"ready":   idv.ResultCompleted,
	"matched": idv.ResultNeedsReview,
	"errored": idv.ResultError,
}

// reportCheck maps a report type (after "report/") to the unified check.
func reportCheck(typ string) idv.Check {
	switch typ {
	case "watchlist":
		return idv.CheckWatchlist
	case "politically-exposed-person":
		return idv.CheckPEP
	case "adverse-media":
		return idv.CheckAdverseMedia
	case "address-lookup":
		return idv.CheckAddress
	}
	return idv.CheckOther
}

// reportEvent handles "report/<type>.<action>"; rest is the part after
// "report/".
func reportEvent(r report.Report, rest string, p *resource, included json.RawMessage, typeErr error) (report.Report, error) {
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		r.Ignored = ignUnknown
		r.VerificationID = inquiryIDOf(p)
		return r, nil
	}
	action := rest[dot+1:]
	result, ok := reportResult[action]
	if !ok {
		r.Ignored = ignReportAction
		r.VerificationID = inquiryIDOf(p)
		return r, nil
	}
	if typeErr != nil {
		return report.Report{}, typeErr
	}
	if !strings.HasPrefix(p.Type, "report/") || !report.ValidID(p.Type) {
		return report.Report{}, invalid("%s is not a report", fType)
	}
	inq := p.Relationships.Inquiry.Data.ID
	if inq == "" {
		r.Ignored = ignReportOrphan
		return r, nil
	}
	if !report.ValidID(inq) {
		return report.Report{}, invalid("%s malformed", fInquiryRel)
	}
	if !report.ValidID(p.ID) {
		return report.Report{}, invalid("%s missing or malformed", fID)
	}
	r.VerificationID = inq
	ref, err := includedReferenceID(included, inq)
	if err != nil {
		return report.Report{}, err
	}
	r.ReferenceID = ref
	r.Checks = []report.CheckUpdate{{
		Check:        reportCheck(p.Type[len("report/"):]),
		Result:       result,
		VendorCheck:  p.Type,
		VendorResult: action,
		ID:           p.ID,
	}}
	return r, nil
}

// includedReferenceID returns the reference-id of the inquiry inq among the
// payload's included objects, "" when it is not there or has none.
func includedReferenceID(included json.RawMessage, inq string) (string, error) {
	if len(included) == 0 || included[0] != '[' {
		return "", nil
	}
	var objs []includedObject
	// A wrong-typed member of an object the parser does not read is
	// tolerated; the decoder fills the rest.
	if err := json.Unmarshal(included, &objs); err != nil {
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) {
			return "", invalid("data.attributes.payload.included is not valid JSON")
		}
	}
	for i := range objs {
		o := &objs[i]
		if o.Type != "inquiry" || o.ID != inq {
			continue
		}
		raw := o.Attributes.ReferenceID
		if len(raw) == 0 || string(raw) == "null" {
			return "", nil
		}
		var ref string
		if raw[0] != '"' || json.Unmarshal(raw, &ref) != nil {
			return "", invalid("%s has the wrong JSON type", fIncRefID)
		}
		if ref == "" {
			return "", nil
		}
		if !report.ValidID(ref) {
			return "", invalid("%s malformed", fIncRefID)
		}
		return ref, nil
	}
	return "", nil
}
