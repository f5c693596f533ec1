// Package persona understands Persona (withpersona.com) webhooks: a JSON:API
// envelope whose top-level `data` is the event (`data.id`, `evt_...`), signed
// with the Persona-Signature header (see pkg/webhookauth).
package persona

import (
	"encoding/json"
	"github.com/idvbus/idvbus/pkg/vendors/report"

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

// NewParser is not implemented yet.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
