package idv

import "slices"

// Status is a verification's unified status.
type Status string

// The unified statuses. Their order of progress is given by [Status.Rank].
const (
	StatusCreated               Status = "created"
	StatusInProgress            Status = "in_progress"
	StatusSubmitted             Status = "submitted"
	StatusPassed                Status = "passed"
	StatusFailed                Status = "failed"
	StatusNeedsReview           Status = "needs_review"
	StatusApproved              Status = "approved"
	StatusDeclined              Status = "declined"
	StatusResubmissionRequested Status = "resubmission_requested"
	StatusExpired               Status = "expired"
	StatusAbandoned             Status = "abandoned"
)

// statuses lists every unified status, in rank order. An array, so that no
// caller can change the vocabulary: [Statuses] hands out copies.
var statuses = [...]Status{
	StatusCreated, StatusInProgress, StatusSubmitted,
	StatusPassed, StatusFailed, StatusResubmissionRequested,
	StatusNeedsReview,
	StatusApproved, StatusDeclined, StatusExpired, StatusAbandoned,
}

// Statuses returns every unified status, in rank order, in a new slice the
// caller may change.
func Statuses() []Status { return slices.Clone(statuses[:]) }

// decisionStatuses are the statuses a subscriber receives by default.
var decisionStatuses = [...]Status{StatusApproved, StatusDeclined, StatusNeedsReview}

// DecisionStatuses returns the statuses a subscriber receives by default
// (approved, declined, needs_review), in a new slice.
func DecisionStatuses() []Status { return slices.Clone(decisionStatuses[:]) }

// Valid reports whether s is one of the unified statuses.
func (s Status) Valid() bool { return s.Rank() > 0 }

// Rank is s's place in the progress order of the contract's ordering rule 4:
// created (1) < in_progress (2) < submitted (3) < passed, failed,
// resubmission_requested (4) < needs_review (5) < approved, declined, expired,
// abandoned (6). It is 0 for an unknown status.
func (s Status) Rank() int {
	switch s {
	case StatusCreated:
		return 1
	case StatusInProgress:
		return 2
	case StatusSubmitted:
		return 3
	case StatusPassed, StatusFailed, StatusResubmissionRequested:
		return 4
	case StatusNeedsReview:
		return 5
	case StatusApproved, StatusDeclined, StatusExpired, StatusAbandoned:
		return 6
	}
	return 0
}

// Terminal reports whether s ends the verification: approved, declined,
// expired or abandoned. A later manual change may still come.
func (s Status) Terminal() bool { return s.Rank() == 6 }

// Decision reports whether s is one of the decisions a subscriber gets by
// default: approved, declined or needs_review.
func (s Status) Decision() bool {
	return s == StatusApproved || s == StatusDeclined || s == StatusNeedsReview
}

// DecidedBy says who set a status.
type DecidedBy string

// Who set a status.
const (
	// DecidedByVendor: the vendor reported it (its automation or workflow).
	DecidedByVendor DecidedBy = "vendor"
	// DecidedByManualReview: a person reviewed the verification at the vendor.
	DecidedByManualReview DecidedBy = "manual_review"
	// DecidedByPolicy: the source's decision_policy "auto" derived it from
	// passed or failed.
	DecidedByPolicy DecidedBy = "policy"
)

// Valid reports whether d is a known value.
func (d DecidedBy) Valid() bool {
	return d == DecidedByVendor || d == DecidedByManualReview || d == DecidedByPolicy
}

// Check is the kind of a single check within a verification.
type Check string

// The unified checks.
const (
	CheckDocument             Check = "document"
	CheckSelfie               Check = "selfie"
	CheckLiveness             Check = "liveness"
	CheckFaceMatch            Check = "face_match"
	CheckNameCheck            Check = "name_check"
	CheckDatabase             Check = "database"
	CheckWatchlist            Check = "watchlist"
	CheckPEP                  Check = "pep"
	CheckAdverseMedia         Check = "adverse_media"
	CheckAddress              Check = "address"
	CheckGovernmentValidation Check = "government_validation"
	CheckRightToWork          Check = "right_to_work"
	CheckRightToRent          Check = "right_to_rent"
	CheckShareCode            Check = "share_code"
	CheckSupportingDocument   Check = "supporting_document"
	CheckSafeHarbour          Check = "safe_harbour"
	CheckAMLMonitoring        Check = "aml_monitoring"
	CheckOther                Check = "other"
)

// checks lists every unified check; [Checks] hands out copies.
var checks = [...]Check{
	CheckDocument, CheckSelfie, CheckLiveness, CheckFaceMatch, CheckNameCheck,
	CheckDatabase, CheckWatchlist, CheckPEP, CheckAdverseMedia, CheckAddress,
	CheckGovernmentValidation, CheckRightToWork, CheckRightToRent, CheckShareCode,
	CheckSupportingDocument, CheckSafeHarbour, CheckAMLMonitoring, CheckOther,
}

// Checks returns every unified check, in a new slice the caller may change.
func Checks() []Check { return slices.Clone(checks[:]) }

// Valid reports whether c is one of the unified checks.
func (c Check) Valid() bool {
	for _, k := range checks {
		if k == c {
			return true
		}
	}
	return false
}

// Result is the outcome of one check.
type Result string

// The unified check results.
const (
	ResultPassed       Result = "passed"
	ResultFailed       Result = "failed"
	ResultNeedsReview  Result = "needs_review"
	ResultPending      Result = "pending"
	ResultNotPerformed Result = "not_performed"
	ResultError        Result = "error"
	// ResultCompleted: the check finished; its outcome is not in the webhook
	// (fetch it from the vendor's API).
	ResultCompleted Result = "completed"
)

// results lists every unified result; [Results] hands out copies.
var results = [...]Result{
	ResultPassed, ResultFailed, ResultNeedsReview, ResultPending,
	ResultNotPerformed, ResultError, ResultCompleted,
}

// Results returns every unified result, in a new slice the caller may change.
func Results() []Result { return slices.Clone(results[:]) }

// Valid reports whether r is one of the unified results.
func (r Result) Valid() bool {
	for _, k := range results {
		if k == r {
			return true
		}
	}
	return false
}
