// Package incode understands Incode webhooks: onboarding-status webhooks
// (`interviewId`, `onboardingStatus`, optional `externalId`), session
// webhooks (`event_type`, `eventType` or `status` = SESSION_STARTED,
// SESSION_FAILED, SESSION_SUCCEEDED, SESSION_PENDING_REVIEW, also spelled
// "Session Succeeded" as production sends it; `interviewId`,
// `externalCustomerId`, `identityId`), and the watchlist, face authentication
// and video selfie webhooks.
//
// Its parser maps one webhook to one Report: VerificationID is `interviewId`,
// ReferenceID `externalId` (else `externalCustomerId`, else `customerId`),
// Event and VendorStatus the event type as sent. The type is read from
// `event_type`, `eventType`, `type`, `onboardingStatus`, `status`, in that
// order, taking the first known value (a completed session's webhook carries
// both `event_type` and onboardingStatus ONBOARDING_FINISHED: its event_type
// wins); case, spaces and dashes do not matter ("Session Succeeded" is
// SESSION_SUCCEEDED). Incode sends neither an event id nor an event time, so
// OccurredAt is zero (the normalizer orders by status rank) and Key is
// "<interviewId>:<canonical type>", the same on every retry of one
// notification. Status by type, DecidedBy vendor unless said:
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
//	SESSION_STARTED                  in_progress
//	SESSION_SUCCEEDED                approved
//	SESSION_FAILED                   declined
//	SESSION_PENDING_REVIEW           needs_review
//	SESSION_PROGRESS, IDENTITY_ENROLLED  ignored (not tracked)
//	…WATCHLIST…                      check watchlist, completed (VendorCheck WATCHLIST)
//	…FACE_AUTH…                      check face_match, completed (VendorCheck FACE_AUTHENTICATION, ID face_authentication)
//	…VIDEOSELFIE… / …VIDEO_SELFIE…   ignored (not tracked: no result in it)
//
// The last three are recognised by a part of the type, since Incode does not
// document their exact strings (docs/vendors.md). Onboarding webhooks carry no
// outcome: checks are "completed" and ONBOARDING_FINISHED is only
// "submitted"; the session webhooks and a manual review carry the decision.
// Any other type, and a body without one, is ignored (counted, never an
// error); a type that looks like a status name (^[A-Z0-9_]{1,64}$) is listed
// in Unmapped. Only interviewId is required, and only for a webhook that
// reports something; an optional field that is not a valid id is skipped and
// named in Unmapped.
//
// Memory is bounded on hostile input: the body (capped by ingest) is decoded
// into one fixed struct of raw values; nothing grows beyond O(len(body)).
package incode

// Vendor is Incode.
type Vendor struct{}

// Name returns "incode".
func (Vendor) Name() string { return "incode" }

// EventID reports that Incode's webhook body carries no event id: ingest then
// deduplicates on a hash of the body, which is identical across Incode's retries.
func (Vendor) EventID([]byte) (string, bool) { return "", false }
