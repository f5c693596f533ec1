// Package stripe understands Stripe Identity webhooks: standard Stripe events
// whose top-level `id` (`evt_...`) stays the same across retries.
package stripe

import (
	"encoding/json"
	"github.com/idvbus/idvbus/internal/vendors/report"

	"github.com/idvbus/idvbus/internal/jsonid"
)

// Vendor is Stripe Identity.
type Vendor struct{}

// Name returns "stripe".
func (Vendor) Name() string { return "stripe" }

// EventID returns the event's top-level `id`.
func (Vendor) EventID(body []byte) (string, bool) {
	var env struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", false
	}
	return jsonid.String(env.ID)
}

// NewParser returns report.ErrNoParser: this vendor has no normalizer yet, so
// its stored webhooks are dead-lettered by the normalizer.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
