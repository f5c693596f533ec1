package incode

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idvbus/idvbus/internal/jsonid"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// NewParser returns Incode's parser. Incode has no numeric result tables, so
// any opts.Results is an error wrapping [report.ErrOptions].
func (Vendor) NewParser(opts report.Options) (report.Parser, error) {
	if len(opts.Results) > 0 {
		return nil, fmt.Errorf("%w: incode has no result tables", report.ErrOptions)
	}
	return parser{}, nil
}

// parser is stateless and safe for concurrent use.
type parser struct{}

// body is the part of a webhook the parser reads; clientId, flowId,
// identityId, timestamp and any other field are skipped. Values are kept raw
// so a wrongly-typed optional field never makes the body unreadable.
type body struct {
	InterviewID json.RawMessage `json:"interviewId"`
	// The event type, in the fields Incode's webhooks (and its own Salesforce
	// handler) use for it, in order of preference: see [typeFields].
	EventTypeSnake   json.RawMessage `json:"event_type"`
	EventType        json.RawMessage `json:"eventType"`
	Type             json.RawMessage `json:"type"`
	OnboardingStatus json.RawMessage `json:"onboardingStatus"`
	Status           json.RawMessage `json:"status"`
	// The customer's own id, in order of preference.
	ExternalID         json.RawMessage `json:"externalId"`
	ExternalCustomerID json.RawMessage `json:"externalCustomerId"`
	CustomerID         json.RawMessage `json:"customerId"`
}

// step is what one event type means.
type step struct {
	status    idv.Status
	decidedBy idv.DecidedBy
	// check, when set, is the check the event says finished.
	check       idv.Check
	vendorCheck string
	checkID     string
	// ignored, when set, marks a known event that reports nothing.
	ignored string
}

// steps maps a canonical event type ([canonical]) to its meaning (see the
// package documentation).
var steps = map[string]step{
	"UNKNOWN":                          {status: idv.StatusCreated},
	"ID_VALIDATION_FINISHED":           {status: idv.StatusInProgress, check: idv.CheckDocument, vendorCheck: "ID_VALIDATION"},
	"ID_VALIDATION_FINISHED_SECOND_ID": {status: idv.StatusInProgress, check: idv.CheckDocument, vendorCheck: "ID_VALIDATION_SECOND_ID", checkID: "second_id"},
	"GOVERNMENT_VALIDATION_FINISHED":   {status: idv.StatusInProgress, check: idv.CheckGovernmentValidation, vendorCheck: "GOVERNMENT_VALIDATION"},
	"FACE_VALIDATION_FINISHED":         {status: idv.StatusInProgress, check: idv.CheckFaceMatch, vendorCheck: "FACE_VALIDATION"},
	"POST_PROCESSING_FINISHED":         {status: idv.StatusInProgress},
	"ONBOARDING_FINISHED":              {status: idv.StatusSubmitted},
	"MANUAL_REVIEW_APPROVED":           {status: idv.StatusApproved, decidedBy: idv.DecidedByManualReview},
	"MANUAL_REVIEW_REJECTED":           {status: idv.StatusDeclined, decidedBy: idv.DecidedByManualReview},
	// Session webhooks (Dashboard → Webhooks): the session's outcome.
	"SESSION_STARTED":        {status: idv.StatusInProgress},
	"SESSION_SUCCEEDED":      {status: idv.StatusApproved},
	"SESSION_FAILED":         {status: idv.StatusDeclined},
	"SESSION_PENDING_REVIEW": {status: idv.StatusNeedsReview},
	// Documented session webhooks that say nothing a status can carry.
	"SESSION_PROGRESS":  {ignored: ignoredNotTracked},
	"IDENTITY_ENROLLED": {ignored: ignoredNotTracked},
}

// family is an event type recognised by a part of its name: Incode's
// watchlist, face authentication and video selfie webhooks, whose exact type
// strings are not documented (docs/vendors.md).
type family struct {
	contains []string
	step     step
}

var families = []family{
	{[]string{"WATCHLIST"}, step{check: idv.CheckWatchlist, vendorCheck: "WATCHLIST"}},
	{[]string{"FACE_AUTH"}, step{check: idv.CheckFaceMatch, vendorCheck: "FACE_AUTHENTICATION", checkID: "face_authentication"}},
	{[]string{"VIDEOSELFIE", "VIDEO_SELFIE"}, step{ignored: ignoredNotTracked}},
}

// Reasons for ignored webhooks: constant strings, never body values.
const (
	ignoredUnknown    = "unknown event type"
	ignoredNoType     = "no event type"
	ignoredNotTracked = "event not tracked"
)

func invalid(msg string) error { return fmt.Errorf("%w: %s", report.ErrInvalid, msg) }

// Parse reads one Incode webhook body: an onboarding-status, session,
// watchlist, face authentication or video selfie webhook. Only interviewId is
// required, and only for an event that reports something: a body without a
// known event type is ignored, never an error.
func (parser) Parse(raw []byte) (report.Report, error) {
	if !report.IsObject(raw) {
		return report.Report{}, invalid("body is not a JSON object")
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return report.Report{}, invalid("body is not valid JSON")
	}
	event, canon, s, known := eventType(&b)
	interview, iok := idOf(b.InterviewID)
	r := report.Report{Event: event}
	if !known || s.ignored != "" {
		if iok {
			r.VerificationID = interview
		}
		switch {
		case known:
			r.Ignored = s.ignored
		case event == "":
			r.Ignored = ignoredNoType
		default:
			r.Ignored = ignoredUnknown
			if isStatusName(event) {
				r.Unmapped = []string{event}
			}
		}
		if iok && event != "" {
			r.Key = interview + ":" + canon
		}
		return r, nil
	}
	switch {
	case len(b.InterviewID) == 0 || string(b.InterviewID) == "null":
		return report.Report{}, invalid("interviewId missing")
	case !iok:
		return report.Report{}, invalid("interviewId malformed")
	}
	r.VerificationID = interview
	r.Key = interview + ":" + canon
	r.ReferenceID, r.Unmapped = reference(&b)
	if s.status != "" {
		decidedBy := s.decidedBy
		if decidedBy == "" {
			decidedBy = idv.DecidedByVendor
		}
		r.Status = &report.StatusUpdate{Status: s.status, VendorStatus: event, DecidedBy: decidedBy}
	}
	if s.check != "" {
		r.Checks = []report.CheckUpdate{{
			Check:       s.check,
			Result:      idv.ResultCompleted,
			VendorCheck: s.vendorCheck,
			ID:          s.checkID,
		}}
	}
	return r, nil
}

// typeFields are the body's event-type fields in order of preference: a
// session webhook carries event_type and, for completed sessions, also
// onboardingStatus ONBOARDING_FINISHED; its event_type is what it reports.
func typeFields(b *body) [5]json.RawMessage {
	return [5]json.RawMessage{b.EventTypeSnake, b.EventType, b.Type, b.OnboardingStatus, b.Status}
}

// eventType returns the body's event type as sent (Event), its canonical
// spelling and meaning: the first type field with a known value, else the
// first with any valid value (unknown), else "" (no type).
func eventType(b *body) (event, canon string, s step, known bool) {
	for _, f := range typeFields(b) {
		v, ok := idOf(f)
		if !ok {
			continue
		}
		c := canonical(v)
		if st, ok := lookup(c); ok {
			return v, c, st, true
		}
		if event == "" {
			event, canon = v, c
		}
	}
	return event, canon, step{}, false
}

// lookup finds the meaning of canonical type c.
func lookup(c string) (step, bool) {
	if s, ok := steps[c]; ok {
		return s, true
	}
	for _, f := range families {
		for _, part := range f.contains {
			if strings.Contains(c, part) {
				return f.step, true
			}
		}
	}
	return step{}, false
}

// canonical spells an event type the way Incode's older payloads do:
// "Session Succeeded" (production), "session-succeeded" and
// "SESSION_SUCCEEDED" all become SESSION_SUCCEEDED.
func canonical(v string) string {
	v = strings.TrimSpace(v)
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-':
			return '_'
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, v)
}

// reference returns the customer's own id: externalId, else
// externalCustomerId, else customerId. A value that is not a valid id is
// skipped and named (never quoted) in unmapped.
func reference(b *body) (ref string, unmapped []string) {
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"externalId", b.ExternalID}, {"externalCustomerId", b.ExternalCustomerID}, {"customerId", b.CustomerID}} {
		if len(f.v) == 0 || string(f.v) == "null" || string(f.v) == `""` {
			continue
		}
		if id, ok := idOf(f.v); ok {
			if ref == "" {
				ref = id
			}
			continue
		}
		unmapped = append(unmapped, f.name+"=<not a valid id>")
	}
	return ref, unmapped
}

// idOf reads a JSON string (or integer) that is a valid id.
func idOf(v json.RawMessage) (string, bool) {
	s, ok := jsonid.String(v)
	if !ok || !report.ValidID(s) {
		return "", false
	}
	return s, true
}

// isStatusName reports whether s matches ^[A-Z0-9_]{1,64}$, the shape of
// Incode's status names: only such values are echoed in Unmapped.
func isStatusName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
