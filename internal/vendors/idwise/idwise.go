// Package idwise understands IDWise webhooks: `{"event": ..., "body": {...}}`
// where `body.eventId` identifies the event across retries.
//
// Decision words, matched ignoring case and surrounding space, with "_" and
// "-" read as spaces (IDWise documents Refer, Rejected, Approved and
// Resubmission Requested; its passing system decision is not documented,
// hence the synonyms):
//
//	approved                Approved, Approve, Complete, Completed, Accepted, Passed, Pass
//	                        (as a check result, Complete/Completed read completed, not passed)
//	declined                Rejected, Reject, Declined, Failed, Fail
//	needs_review            Refer, Referred, Review, Needs Review, Pending Review
//	resubmission_requested  Resubmission Requested, Resubmit, Resubmission
//
// As a check result they read passed, failed, needs_review, and failed for a
// resubmission (completed for AML monitoring); no decision gives completed.
// An unknown word gives no status and is listed in Report.Unmapped.
//
// What the parser reports per event (finalDecision is the manual decision
// where there was one, else the system's):
//
//	Finished Journey        status from finalDecision, else systemDecision;
//	                        manual_review if manualDecision is set, else vendor
//	Manually Reviewed       status from manualDecision, else finalDecision; manual_review
//	Updated Journey         status from finalDecision, else systemDecision; manual_review
//	                        if action is "Manual Review" or manualDecision equals finalDecision
//	AML Monitor Update      status as Finished Journey, plus check aml_monitoring from
//	                        systemDecision, id "aml:<updatedAMLVersionNumber>"
//	Finished User Steps     status submitted
//	Finished Step           a check named by the step (fields UNCONFIRMED)
//	Finished Ongoing Check  check selfie from systemDecision, else finalDecision
//	Finished Spot Check     check other, likewise
//	anything else           ignored
package idwise

import (
	"encoding/json"
	"fmt"

	"github.com/idvbus/idvbus/internal/jsonid"
	"github.com/idvbus/idvbus/internal/vendors/report"
)

// Vendor is IDWise.
type Vendor struct{}

// Name returns "idwise".
func (Vendor) Name() string { return "idwise" }

// EventID returns `body.eventId`, which IDWise keeps the same across retries.
func (Vendor) EventID(body []byte) (string, bool) {
	var env struct {
		Body struct {
			EventID json.RawMessage `json:"eventId"`
		} `json:"body"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", false
	}
	return jsonid.String(env.Body.EventID)
}

// NewParser returns the IDWise parser. IDWise reports decisions as words,
// not numeric codes, so it accepts no result table: opts.Results must be
// empty.
func (Vendor) NewParser(opts report.Options) (report.Parser, error) {
	if len(opts.Results) > 0 {
		return nil, fmt.Errorf("%w: results: idwise sends no numeric results to map", report.ErrOptions)
	}
	return parser{}, nil
}
