// Package sumsub understands Sumsub applicant webhooks, whose `correlationId`
// Sumsub documents as the unique identifier of the event.
package sumsub

import (
	"encoding/json"
	"github.com/idvbus/idvbus/internal/vendors/report"

	"github.com/idvbus/idvbus/internal/jsonid"
)

// Vendor is Sumsub.
type Vendor struct{}

// Name returns "sumsub".
func (Vendor) Name() string { return "sumsub" }

// EventID returns the top-level `correlationId`.
func (Vendor) EventID(body []byte) (string, bool) {
	var env struct {
		CorrelationID json.RawMessage `json:"correlationId"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", false
	}
	return jsonid.String(env.CorrelationID)
}

// NewParser returns report.ErrNoParser: this vendor has no normalizer yet, so
// its stored webhooks are dead-lettered by the normalizer.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
