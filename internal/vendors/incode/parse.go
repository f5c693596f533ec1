package incode

import (
	"encoding/json"
	"errors"
	"fmt"

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

// body is the part of the webhook the parser reads; clientId, flowId and any
// other field are skipped.
type body struct {
	InterviewID      string `json:"interviewId"`
	OnboardingStatus string `json:"onboardingStatus"`
	ExternalID       string `json:"externalId"`
}

// step is what one onboardingStatus means.
type step struct {
	status    idv.Status
	decidedBy idv.DecidedBy
	// check, when set, is the check the status says finished.
	check       idv.Check
	vendorCheck string
	checkID     string
}

// steps maps onboardingStatus to its meaning (see the package documentation).
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
}

func invalid(msg string) error { return fmt.Errorf("%w: %s", report.ErrInvalid, msg) }

// Parse reads one onboarding-status webhook body.
func (parser) Parse(raw []byte) (report.Report, error) {
	if !report.IsObject(raw) {
		return report.Report{}, invalid("body is not a JSON object")
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return report.Report{}, invalid(fieldName(ute.Field) + " is not a string")
		}
		return report.Report{}, invalid("body is not valid JSON")
	}
	if b.InterviewID == "" {
		return report.Report{}, invalid("interviewId missing")
	}
	if !report.ValidID(b.InterviewID) {
		return report.Report{}, invalid("interviewId malformed")
	}
	if b.OnboardingStatus == "" {
		return report.Report{}, invalid("onboardingStatus missing")
	}
	if !report.ValidID(b.OnboardingStatus) {
		return report.Report{}, invalid("onboardingStatus malformed")
	}
	if b.ExternalID != "" && !report.ValidID(b.ExternalID) {
		return report.Report{}, invalid("externalId malformed")
	}
	r := report.Report{
		Event:          b.OnboardingStatus,
		VerificationID: b.InterviewID,
		ReferenceID:    b.ExternalID,
		Key:            b.InterviewID + ":" + b.OnboardingStatus,
	}
	s, ok := steps[b.OnboardingStatus]
	if !ok {
		r.Ignored = "unknown onboardingStatus"
		if isStatusName(b.OnboardingStatus) {
			r.Unmapped = []string{b.OnboardingStatus}
		}
		return r, nil
	}
	decidedBy := s.decidedBy
	if decidedBy == "" {
		decidedBy = idv.DecidedByVendor
	}
	r.Status = &report.StatusUpdate{Status: s.status, VendorStatus: b.OnboardingStatus, DecidedBy: decidedBy}
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

// isStatusName reports whether s matches ^[A-Z0-9_]{1,64}$, the shape of
// Incode's status names; only such values are repeated in Unmapped.
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

// fieldName returns the decoder's name of a wrongly-typed field if it is one
// of the fields the parser reads, so no body text can reach a message.
func fieldName(f string) string {
	switch f {
	case "interviewId", "onboardingStatus", "externalId":
		return f
	}
	return "a field"
}
