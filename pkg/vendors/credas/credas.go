// Package credas understands Credas result-status-update webhooks
// (`UpdateType` 1–9 with a JSON-encoded `Payload` string).
package credas

import "github.com/idvbus/idvbus/pkg/vendors/report"

// Vendor is Credas.
type Vendor struct{}

// Name returns "credas".
func (Vendor) Name() string { return "credas" }

// EventID reports that Credas's webhook body carries no event id: ingest then
// deduplicates on a hash of the body.
func (Vendor) EventID([]byte) (string, bool) { return "", false }

// NewParser is not implemented yet.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
