package samples

import (
	"strconv"

	"github.com/idvbus/idvbus/sdk/idv"
)

// catalog is every sample, by vendor. Persona: every inquiry, verification
// and report event its parser maps; Incode: every onboardingStatus and session event; Credas:
// every UpdateType; IDWise: every event, with one variant per decision.
var catalog = join(personaSamples(), incodeSamples(), credasSamples(), idwiseSamples())

func join(lists ...[]Sample) []Sample {
	var out []Sample
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func status(s idv.Status) Want { return Want{Status: s} }

func check(c idv.Check, r idv.Result) Want { return Want{Check: c, Result: r} }

func personaSamples() []Sample {
	inquiry := func(name, vendorStatus string, s idv.Status) Sample {
		return Sample{Vendor: "persona", Name: name, Event: name, Want: status(s), file: "persona/inquiry.json",
			vars: map[string]string{"name": name, "status": vendorStatus}}
	}
	verification := func(action, typ, vendorStatus, checkName, checkStatus string, w Want) Sample {
		name := "verification." + action
		return Sample{Vendor: "persona", Name: name, Event: name, Want: w, file: "persona/verification.json",
			vars: map[string]string{"name": name, "type": typ, "status": vendorStatus,
				"check_name": checkName, "check_status": checkStatus}}
	}
	rep := func(typ, action string, w Want) Sample {
		name := typ + "." + action
		hasMatch := strconv.FormatBool(action == "matched")
		st := "ready"
		if action == "errored" {
			st = "errored"
		}
		return Sample{Vendor: "persona", Name: name, Event: name, Want: w, file: "persona/report.json",
			vars: map[string]string{"name": name, "type": typ, "status": st, "has_match": hasMatch}}
	}
	const (
		selfie = "verification/selfie"
		govID  = "verification/government-id"
		db     = "verification/database"
	)
	return []Sample{
		inquiry("inquiry.created", "created", idv.StatusCreated),
		inquiry("inquiry.started", "pending", idv.StatusInProgress),
		inquiry("inquiry.transitioned", "pending", idv.StatusInProgress),
		inquiry("inquiry.completed", "completed", idv.StatusPassed),
		inquiry("inquiry.failed", "failed", idv.StatusFailed),
		inquiry("inquiry.expired", "expired", idv.StatusExpired),
		inquiry("inquiry.marked-for-review", "needs_review", idv.StatusNeedsReview),
		inquiry("inquiry.needs_review", "needs_review", idv.StatusNeedsReview),
		inquiry("inquiry.approved", "approved", idv.StatusApproved),
		inquiry("inquiry.declined", "declined", idv.StatusDeclined),
		verification("passed", selfie, "passed", "selfie_id_comparison", "passed", check(idv.CheckSelfie, idv.ResultPassed)),
		verification("failed", govID, "failed", "id_barcode_inconsistency_detection", "failed", check(idv.CheckDocument, idv.ResultFailed)),
		verification("requires-retry", govID, "requires_retry", "id_image_quality_detection", "failed", check(idv.CheckDocument, idv.ResultFailed)),
		verification("canceled", selfie, "canceled", "selfie_liveness_detection", "not_executed", check(idv.CheckSelfie, idv.ResultNotPerformed)),
		verification("skipped", db, "skipped", "database_identity_comparison", "not_executed", check(idv.CheckDatabase, idv.ResultNotPerformed)),
		verification("escalated", govID, "escalated", "id_expired_detection", "failed", check(idv.CheckDocument, idv.ResultNeedsReview)),
		verification("tentatively-passed", govID, "tentatively_passed", "id_aamva_database_lookup", "passed", check(idv.CheckDocument, idv.ResultPending)),
		verification("tentatively-failed", govID, "tentatively_failed", "id_aamva_database_lookup", "failed", check(idv.CheckDocument, idv.ResultPending)),
		rep("report/watchlist", "ready", check(idv.CheckWatchlist, idv.ResultCompleted)),
		rep("report/watchlist", "matched", check(idv.CheckWatchlist, idv.ResultNeedsReview)),
		rep("report/watchlist", "errored", check(idv.CheckWatchlist, idv.ResultError)),
		rep("report/politically-exposed-person", "ready", check(idv.CheckPEP, idv.ResultCompleted)),
		rep("report/politically-exposed-person", "matched", check(idv.CheckPEP, idv.ResultNeedsReview)),
		rep("report/adverse-media", "ready", check(idv.CheckAdverseMedia, idv.ResultCompleted)),
		rep("report/adverse-media", "matched", check(idv.CheckAdverseMedia, idv.ResultNeedsReview)),
		rep("report/address-lookup", "ready", check(idv.CheckAddress, idv.ResultCompleted)),
	}
}

func incodeSamples() []Sample {
	s := func(name string, w Want) Sample {
		return Sample{Vendor: "incode", Name: name, Event: name, Want: w, file: "incode/onboarding_status.json",
			vars: map[string]string{"name": name}}
	}
	session := func(name string, w Want) Sample {
		return Sample{Vendor: "incode", Name: name, Event: name, Want: w, file: "incode/session.json",
			vars: map[string]string{"name": name}}
	}
	inProgressWith := func(c idv.Check) Want {
		return Want{Status: idv.StatusInProgress, Check: c, Result: idv.ResultCompleted}
	}
	return []Sample{
		s("UNKNOWN", status(idv.StatusCreated)),
		s("ID_VALIDATION_FINISHED", inProgressWith(idv.CheckDocument)),
		s("ID_VALIDATION_FINISHED_SECOND_ID", inProgressWith(idv.CheckDocument)),
		s("GOVERNMENT_VALIDATION_FINISHED", inProgressWith(idv.CheckGovernmentValidation)),
		s("FACE_VALIDATION_FINISHED", inProgressWith(idv.CheckFaceMatch)),
		s("POST_PROCESSING_FINISHED", status(idv.StatusInProgress)),
		s("ONBOARDING_FINISHED", status(idv.StatusSubmitted)),
		s("MANUAL_REVIEW_APPROVED", status(idv.StatusApproved)),
		s("MANUAL_REVIEW_REJECTED", status(idv.StatusDeclined)),
		// Session webhooks (event_type, with onboardingStatus as Incode sends it).
		session("SESSION_STARTED", status(idv.StatusInProgress)),
		session("SESSION_PENDING_REVIEW", status(idv.StatusNeedsReview)),
		session("SESSION_SUCCEEDED", status(idv.StatusApproved)),
		session("SESSION_FAILED", status(idv.StatusDeclined)),
	}
}

func credasSamples() []Sample {
	// Result values follow the inferred table in internal/vendors/credas
	// (1 AutoPass, 3 PendingManualCheck, 4 ManualPass, 6 ManualRefer).
	s := func(updateType int, name, idField, results string, w Want) Sample {
		return Sample{Vendor: "credas", Name: name, Event: "credas:" + name, Want: w, file: "credas/payload.json",
			credasType: updateType, vars: map[string]string{"result_id_field": idField, "results": results}}
	}
	return []Sample{
		s(1, "name_check", "EntityIdvEntryIdDocumentId", `"NameCheckVerificationResult":3`, check(idv.CheckNameCheck, idv.ResultNeedsReview)),
		s(2, "share_code", "EntityShareCodeId", `"ShareCodeVerificationResult":4`, check(idv.CheckShareCode, idv.ResultPassed)),
		s(3, "liveness", "EntityIdvEntryLivenessId", `"LivenessVerificationResult":1`, check(idv.CheckLiveness, idv.ResultPassed)),
		// The first check in field-name order is BackScan (a document check).
		s(4, "id_document", "EntityIdvEntryIdDocumentId",
			`"VisualAnalysisVerificationResult":1,"BackScanVerificationResult":1,"FacialMatchVerificationResult":1,"NameCheckVerificationResult":1,"VerificationResult":1`,
			check(idv.CheckDocument, idv.ResultPassed)),
		s(5, "supporting_document", "EntityNonBiometricDocumentId", `"Status":4`, check(idv.CheckSupportingDocument, idv.ResultPassed)),
		s(6, "datacheck", "EntityDataCheckId", `"Status":1`, check(idv.CheckDatabase, idv.ResultPassed)),
		s(7, "right_to_rent", "EntityRightToRentCheckId", `"Status":1`, check(idv.CheckRightToRent, idv.ResultPassed)),
		s(8, "right_to_work", "EntityRightToWorkCheckId", `"Status":6`, check(idv.CheckRightToWork, idv.ResultNeedsReview)),
		s(9, "safe_harbour", "SafeHarbourCheckId", `"Status":1,"OverallResult":1`, check(idv.CheckSafeHarbour, idv.ResultPassed)),
	}
}

func idwiseSamples() []Sample {
	s := func(name, event, extra string, w Want) Sample {
		return Sample{Vendor: "idwise", Name: name, Event: event, Want: w, file: "idwise/event.json",
			vars: map[string]string{"name": event, "extra": extra}}
	}
	return []Sample{
		s("finished-user-steps", "Finished User Steps", "", status(idv.StatusSubmitted)),
		s("finished-step", "Finished Step", `,
    "stepId": "0",
    "stepName": "Passport",
    "result": "Passed"`, check(idv.CheckDocument, idv.ResultPassed)),
		s("finished-step-selfie", "Finished Step", `,
    "stepId": "2",
    "stepName": "Selfie",
    "result": "Passed"`, check(idv.CheckSelfie, idv.ResultPassed)),
		s("finished-journey", "Finished Journey", `,
    "systemDecision": "Complete"`, status(idv.StatusApproved)),
		s("finished-journey-refer", "Finished Journey", `,
    "systemDecision": "Refer"`, status(idv.StatusNeedsReview)),
		s("finished-journey-rejected", "Finished Journey", `,
    "systemDecision": "Rejected"`, status(idv.StatusDeclined)),
		s("finished-journey-resubmit", "Finished Journey", `,
    "systemDecision": "Resubmission Requested"`, status(idv.StatusResubmissionRequested)),
		s("manually-reviewed", "Manually Reviewed", `,
    "systemDecision": "Refer",
    "manualDecision": "Approved",
    "finalDecision": "Approved"`, status(idv.StatusApproved)),
		s("manually-reviewed-rejected", "Manually Reviewed", `,
    "systemDecision": "Refer",
    "manualDecision": "Rejected",
    "finalDecision": "Rejected"`, status(idv.StatusDeclined)),
		s("updated-journey", "Updated Journey", `,
    "action": "Manual Review",
    "systemDecision": "Refer",
    "manualDecision": "Rejected",
    "finalDecision": "Rejected"`, status(idv.StatusDeclined)),
		s("aml-monitor-update", "AML Monitor Update", `,
    "systemDecision": "Refer",
    "previousSystemDecision": "Complete",
    "updatedAMLVersionNumber": 2`, Want{Status: idv.StatusNeedsReview, Check: idv.CheckAMLMonitoring, Result: idv.ResultNeedsReview}),
		s("finished-ongoing-check", "Finished Ongoing Check", `,
    "systemDecision": "Complete"`, check(idv.CheckSelfie, idv.ResultCompleted)),
		s("finished-spot-check", "Finished Spot Check", `,
    "systemDecision": "Rejected"`, check(idv.CheckOther, idv.ResultFailed)),
	}
}
