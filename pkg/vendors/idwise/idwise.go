// Package idwise understands IDWise webhooks: `{"event": ..., "body": {...}}`
// where `body.eventId` identifies the event across retries.
package idwise

import (
	"encoding/json"
	"github.com/idvbus/idvbus/pkg/vendors/report"

	"github.com/idvbus/idvbus/internal/jsonid"
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

// NewParser is not implemented yet.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
