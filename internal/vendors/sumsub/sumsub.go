// Package sumsub understands Sumsub applicant webhooks.
//
// Their event key is the one Sumsub's own webhook sample deduplicates on:
// `applicantId`, `type` and `createdAtMs` together. The `correlationId` that
// Sumsub's docs call the event's unique identifier is not one in practice: a
// captured sandbox request sent applicantPending and
// applicantPersonalInfoChanged, two different webhooks, under one
// correlationId (and ingest then stored only the first).
package sumsub

import (
	"encoding/json"
	"strings"

	"github.com/idvbus/idvbus/internal/jsonid"
	"github.com/idvbus/idvbus/internal/vendors/report"
)

// Vendor is Sumsub.
type Vendor struct{}

// Name returns "sumsub".
func (Vendor) Name() string { return "sumsub" }

// EventID returns "<applicantId>:<type>:<createdAtMs>", with the space of
// createdAtMs ("2024-09-23 23:10:24.704") replaced by "T" so the key is one
// token; ok=false when any of the three is missing or not a plain id, and
// ingest falls back to the body hash.
func (Vendor) EventID(body []byte) (string, bool) {
	var env struct {
		ApplicantID json.RawMessage `json:"applicantId"`
		Type        json.RawMessage `json:"type"`
		CreatedAtMs json.RawMessage `json:"createdAtMs"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", false
	}
	applicant, ok1 := jsonid.String(env.ApplicantID)
	typ, ok2 := jsonid.String(env.Type)
	at, ok3 := jsonid.String(env.CreatedAtMs)
	if !ok1 || !ok2 || !ok3 || strings.Contains(applicant, ":") || strings.Contains(typ, ":") {
		return "", false
	}
	return applicant + ":" + typ + ":" + strings.ReplaceAll(at, " ", "T"), true
}

// NewParser returns report.ErrNoParser: this vendor has no normalizer yet, so
// its stored webhooks are dead-lettered by the normalizer.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
