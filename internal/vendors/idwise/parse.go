package idwise

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// The event names IDWise sends (vendors.md §4.1), matched ignoring case and
// surrounding space.
const (
	eventFinishedJourney   = "Finished Journey"
	eventManuallyReviewed  = "Manually Reviewed"
	eventUpdatedJourney    = "Updated Journey"
	eventAMLMonitorUpdate  = "AML Monitor Update"
	eventAMLMoniorUpdate   = "AML Monior Update" // the docs' prose spelling; tolerated
	eventFinishedUserSteps = "Finished User Steps"
	eventFinishedStep      = "Finished Step"
	eventOngoingCheck      = "Finished Ongoing Check"
	eventSpotCheck         = "Finished Spot Check"
)

// Reasons for Report.Ignored.
const (
	ignoredEvent      = "unknown event"
	ignoredNoDecision = "no decision"
	ignoredDecision   = "unrecognized decision"
)

// parser is the IDWise [report.Parser]; it has no state.
type parser struct{}

// envelope is the whole body. Every field is a [value] of any JSON type: ids
// may be strings or integers, and the step fields of Finished Step are not
// documented, so their types are not known.
type envelope struct {
	Event value     `json:"event"`
	Body  *bodyJSON `json:"body"`
}

// bodyJSON is the envelope's body.
type bodyJSON struct {
	EventID        value `json:"eventId"`
	JourneyID      value `json:"journeyId"`
	ReferenceNo    value `json:"referenceNo"`
	SystemDecision value `json:"systemDecision"`
	ManualDecision value `json:"manualDecision"`
	FinalDecision  value `json:"finalDecision"`
	Action         value `json:"action"`
	AMLVersion     value `json:"updatedAMLVersionNumber"`
	// Finished Step (UNCONFIRMED names): the step, in order of preference.
	StepName     value `json:"stepName"`
	StepType     value `json:"stepType"`
	Step         value `json:"step"`
	DocumentType value `json:"documentType"`
	StepID       value `json:"stepId"`
	// Finished Step (UNCONFIRMED names): its result, in order of preference.
	Result     value `json:"result"`
	Status     value `json:"status"`
	StepResult value `json:"stepResult"`
	Decision   value `json:"decision"`
}

// Parse reads one IDWise webhook. VerificationID is body.journeyId,
// ReferenceID body.referenceNo, Key body.eventId (the same on every retry of
// the event; when absent or not a valid id, empty: the raw key, then a body
// hash, is used); IDWise gives no event time. Decisions (finalDecision, else
// systemDecision or manualDecision as the event calls for) become the
// verification status; AML Monitor Update, Finished Step and the ongoing
// and spot checks also report a check. An event with a decision word it does
// not know reports no status, lists the word in Unmapped and, if it then
// says nothing else, is Ignored.
func (parser) Parse(body []byte) (report.Report, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		// The decoder's message may quote a byte of the body: not wrapped.
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field == "body" {
			return report.Report{}, fmt.Errorf("%w: body is not a JSON object", report.ErrInvalid)
		}
		return report.Report{}, fmt.Errorf("%w: not a JSON object", report.ErrInvalid)
	}
	if !env.Event.present() {
		return report.Report{}, fmt.Errorf("%w: event missing", report.ErrInvalid)
	}
	event, ok := env.Event.str()
	if !ok || !report.ValidID(event) {
		return report.Report{}, fmt.Errorf("%w: event is not a valid name", report.ErrInvalid)
	}
	b := env.Body
	if b == nil {
		return report.Report{}, fmt.Errorf("%w: body missing", report.ErrInvalid)
	}
	r := report.Report{Event: event}
	name, known := eventName(event)
	if !known {
		// Ids are kept where valid, for the log line, but not required.
		r.VerificationID, _ = b.JourneyID.optionalID()
		r.ReferenceID, _ = b.ReferenceNo.optionalID()
		r.Key, _ = b.EventID.optionalID()
		r.Ignored = ignoredEvent
		return r, nil
	}
	var err error
	if r.VerificationID, err = b.JourneyID.requiredID("body.journeyId"); err != nil {
		return report.Report{}, err
	}
	// body.eventId is optional: without a valid one Key stays empty and
	// the raw dedup key stands in, which ingest then made from the body's
	// hash (ingest.MsgID), so a retry of the same body is still recognised.
	r.Key, _ = b.EventID.optionalID()
	if r.ReferenceID, ok = b.ReferenceNo.optionalID(); !ok {
		return report.Report{}, fmt.Errorf("%w: body.referenceNo is not a valid id", report.ErrInvalid)
	}
	decide(&r, name, b)
	if r.Status == nil && len(r.Checks) == 0 {
		r.Ignored = ignoredNoDecision
		if len(r.Unmapped) > 0 {
			r.Ignored = ignoredDecision
		}
	}
	return r, nil
}

// events lists the event names IDWise sends.
var events = [...]string{eventFinishedJourney, eventManuallyReviewed, eventUpdatedJourney,
	eventAMLMonitorUpdate, eventAMLMoniorUpdate, eventFinishedUserSteps, eventFinishedStep,
	eventOngoingCheck, eventSpotCheck}

// eventName returns the event name IDWise's event matches, ignoring case and
// surrounding space.
func eventName(event string) (string, bool) {
	event = strings.TrimSpace(event)
	for _, e := range events {
		if strings.EqualFold(event, e) {
			return e, true
		}
	}
	return "", false
}

// decide sets r's status, checks and unmapped words for the known event name
// from body b.
func decide(r *report.Report, name string, b *bodyJSON) {
	system, manual, final := b.SystemDecision.word(), b.ManualDecision.word(), b.FinalDecision.word()
	vendorUnlessManual := idv.DecidedByVendor
	if manual.present {
		vendorUnlessManual = idv.DecidedByManualReview
	}
	switch name {
	case eventFinishedJourney:
		setStatus(r, first(final, system), vendorUnlessManual)
	case eventManuallyReviewed:
		setStatus(r, first(manual, final), idv.DecidedByManualReview)
	case eventUpdatedJourney:
		by := idv.DecidedByVendor
		if action := b.Action.word(); wordEqual(action.s, "manual review") ||
			manual.present && final.present && strings.EqualFold(manual.s, final.s) {
			by = idv.DecidedByManualReview
		}
		setStatus(r, first(final, system), by)
	case eventAMLMonitorUpdate, eventAMLMoniorUpdate:
		setStatus(r, first(final, system), vendorUnlessManual)
		c := report.CheckUpdate{
			Check:        idv.CheckAMLMonitoring,
			Result:       checkResult(r, system, idv.ResultCompleted),
			VendorCheck:  eventAMLMonitorUpdate,
			VendorResult: system.vendorValue(),
		}
		if v, ok := b.AMLVersion.optionalID(); ok && v != "" {
			c.ID = "aml:" + v
		}
		r.Checks = []report.CheckUpdate{c}
	case eventFinishedUserSteps:
		r.Status = &report.StatusUpdate{Status: idv.StatusSubmitted, VendorStatus: name, DecidedBy: idv.DecidedByVendor}
	case eventFinishedStep:
		step := firstString(b.StepName, b.StepType, b.Step, b.DocumentType, b.StepID)
		res := first(first(b.Result.word(), b.Status.word()), first(b.StepResult.word(), b.Decision.word()))
		c := report.CheckUpdate{
			Check:        stepCheck(step),
			Result:       checkResult(r, res, idv.ResultFailed),
			VendorCheck:  step,
			VendorResult: res.vendorValue(),
		}
		if step == "" {
			c.VendorCheck = eventFinishedStep
		}
		c.ID, _ = b.StepID.optionalID()
		r.Checks = []report.CheckUpdate{c}
	case eventOngoingCheck, eventSpotCheck:
		c := report.CheckUpdate{Check: idv.CheckSelfie, VendorCheck: name}
		if name == eventSpotCheck {
			c.Check = idv.CheckOther
		}
		res := first(system, final)
		c.Result = checkResult(r, res, idv.ResultFailed)
		c.VendorResult = res.vendorValue()
		r.Checks = []report.CheckUpdate{c}
	}
}

// setStatus sets r's status from decision word w; a word it does not know
// goes to Unmapped instead.
func setStatus(r *report.Report, w word, by idv.DecidedBy) {
	if !w.present {
		return
	}
	st, ok := w.verdict().status()
	if !ok {
		addUnmapped(r, w.unmapped())
		return
	}
	r.Status = &report.StatusUpdate{Status: st, VendorStatus: w.s, DecidedBy: by}
}

// checkResult returns the check result of word w (completed when absent);
// a word it does not know gives completed and goes to Unmapped.
func checkResult(r *report.Report, w word, ifResubmit idv.Result) idv.Result {
	if !w.present {
		return idv.ResultCompleted
	}
	v := w.verdict()
	if v == unknown {
		addUnmapped(r, w.unmapped())
	}
	return v.result(ifResubmit)
}

func addUnmapped(r *report.Report, s string) {
	for _, u := range r.Unmapped {
		if u == s {
			return
		}
	}
	r.Unmapped = append(r.Unmapped, s)
}

// stepChecks maps words in a Finished Step's step name (matched ignoring
// case, first match wins) to the check it reports; anything else is other.
// IDWise does not document step names: these are guesses, with "idcard",
// "id_card" and "licen" (driving licence/license) added to the document words.
var stepChecks = [...]struct {
	words []string
	check idv.Check
}{
	{[]string{"selfie"}, idv.CheckSelfie},
	{[]string{"liveness"}, idv.CheckLiveness},
	{[]string{"document", "passport", "id card", "id_card", "idcard", "identity", "licen"}, idv.CheckDocument},
	{[]string{"aml", "sanction", "pep", "watchlist"}, idv.CheckWatchlist},
	{[]string{"address"}, idv.CheckAddress},
}

// stepCheck returns the check a step named step reports.
func stepCheck(step string) idv.Check {
	for _, sc := range stepChecks {
		for _, w := range sc.words {
			if containsFold(step, w) {
				return sc.check
			}
		}
	}
	return idv.CheckOther
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring ASCII case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
