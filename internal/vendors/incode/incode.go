// Package incode understands Incode onboarding-status webhooks
// (`interviewId`, `onboardingStatus`, optional `externalId`).
//
// Its parser maps one webhook to one Report: VerificationID is `interviewId`,
// ReferenceID `externalId`, Event and VendorStatus `onboardingStatus`.
// Incode sends neither an event id nor an event time, so OccurredAt is zero
// (the normalizer orders by status rank) and Key is
// "<interviewId>:<onboardingStatus>", the same on every retry of one
// notification. Status by onboardingStatus, DecidedBy vendor unless said:
//
//	UNKNOWN                          created (Incode documents it but does not send it)
//	ID_VALIDATION_FINISHED           in_progress + check document, completed (VendorCheck ID_VALIDATION)
//	ID_VALIDATION_FINISHED_SECOND_ID in_progress + check document, completed (VendorCheck ID_VALIDATION_SECOND_ID, ID second_id)
//	GOVERNMENT_VALIDATION_FINISHED   in_progress + check government_validation, completed
//	FACE_VALIDATION_FINISHED         in_progress + check face_match, completed
//	POST_PROCESSING_FINISHED         in_progress
//	ONBOARDING_FINISHED              submitted
//	MANUAL_REVIEW_APPROVED           approved, DecidedBy manual_review
//	MANUAL_REVIEW_REJECTED           declined, DecidedBy manual_review
//
// The webhook carries no outcome: checks are "completed" and
// ONBOARDING_FINISHED is only "submitted". The score (Incode's automated
// decision) and the check results are not in the webhook: fetch them from
// Incode's API. Only a manual review's outcome is in the webhook itself.
// Any other onboardingStatus is ignored and, when it looks like a status
// name (^[A-Z0-9_]{1,64}$), listed in Unmapped.
//
// Memory is bounded on hostile input: the body (capped by ingest) is decoded
// into one fixed struct of three strings; nothing grows beyond O(len(body)).
package incode

// Vendor is Incode.
type Vendor struct{}

// Name returns "incode".
func (Vendor) Name() string { return "incode" }

// EventID reports that Incode's webhook body carries no event id: ingest then
// deduplicates on a hash of the body, which is identical across Incode's retries.
func (Vendor) EventID([]byte) (string, bool) { return "", false }
