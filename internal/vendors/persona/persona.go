// Package persona understands Persona (withpersona.com) webhooks: a JSON:API
// envelope whose top-level `data` is the event (`data.id`, `evt_...`), signed
// with the Persona-Signature header (see internal/webhookauth).
//
// Its parser reads the event name (`data.attributes.name`) and time
// (`data.attributes.created-at`, RFC 3339: the normalizer orders by it, as
// Persona advises; optional: without it, or when it is not an RFC 3339 time
// (then reported as unmapped), the received time stands in and the status
// rank orders) and the resource in `data.attributes.payload.data`.
// Report.Key stays empty: the raw dedup key is already Persona's event id.
// Every status is DecidedBy vendor: Persona does not say whether a workflow
// or a person set it.
//
//   - inquiry.created, .started, .completed, .failed, .expired, .approved,
//     .declined, .marked-for-review (also .needs_review): status created,
//     in_progress, passed, failed, expired, approved, declined, needs_review.
//     VendorStatus is the inquiry's `status` attribute (else the name's
//     suffix). VerificationID is the inquiry id, ReferenceID its
//     `reference-id`.
//   - Any other inquiry.* event (transitioned, updated-tags, redacted,
//     reusable-persona-*, unknown): the status of the inquiry's `status`
//     attribute (created, pending → in_progress, completed → passed, failed,
//     expired, approved, declined, needs_review); ignored when it has none or
//     an unknown one (listed in Unmapped as "status=<value>").
//   - verification.<action> on a verification/<subtype>: a check on the
//     related inquiry (VerificationID), ID the verification id. Check:
//     government-id*, driver-license, passport, id-card, document-with-photo
//     → document; selfie → selfie; database, database-standard,
//     database-business → database; aamva → government_validation; document
//     → supporting_document; others → other. Result: passed → passed; failed,
//     requires-retry → failed; canceled, skipped → not_performed; escalated →
//     needs_review; tentatively-passed, tentatively-failed → pending.
//     created, submitted and updated-tags carry no result and are ignored.
//   - report/<type>.<action>: a check on the related inquiry, ID the report
//     id. Check: watchlist → watchlist, politically-exposed-person → pep,
//     adverse-media → adverse_media, address-lookup → address, others →
//     other. Result: ready
//     → completed (fetch the outcome from Persona's API), matched →
//     needs_review, errored → error; other actions, and reports not attached
//     to an inquiry, are ignored.
//   - inquiry-session.*, account.*, case.*, document.*, selfie.*,
//     transaction.* and unknown events are ignored, with the inquiry id when
//     the payload has one at hand.
//
// ReferenceID of verification and report events comes from the inquiry in
// `payload.included[]`, when Persona includes it. VendorStatus, VendorResult
// and Unmapped repeat a vendor value only when it looks like a status word
// (^[a-z_-]{1,40}$), never free text.
//
// A body is invalid ([report.ErrInvalid]) when it is not a JSON object or
// lacks a valid event name or time; or when an event the parser uses (the
// status events, other inquiry events about an inquiry, verification and
// report events with a result) lacks its resource, its ids or the
// verification's inquiry relationship, or has a malformed id or a value of
// the wrong JSON type. Ignored events tolerate a missing or malformed
// resource.
//
// Bounded memory on hostile input: the parser decodes into fixed structs,
// keeping a few strings and a copy of the `included` array, all no larger
// than the body (whose size ingest caps); encoding/json bounds nesting and
// nothing in the parser recurses, so nothing grows beyond O(len(body)).
package persona

import (
	"encoding/json"

	"github.com/idvbus/idvbus/internal/jsonid"
)

// Vendor is Persona.
type Vendor struct{}

// Name returns "persona".
func (Vendor) Name() string { return "persona" }

// EventID returns the event's `data.id`, which Persona keeps the same on every
// retry of one event.
func (Vendor) EventID(body []byte) (string, bool) {
	var env struct {
		Data struct {
			ID json.RawMessage `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", false
	}
	return jsonid.String(env.Data.ID)
}
