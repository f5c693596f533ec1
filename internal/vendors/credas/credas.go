// Package credas understands Credas result-status-update webhooks
// (`UpdateType` 1–9 with a JSON-encoded `Payload` string).
//
// A Credas webhook reports check results only, never a verification status:
// the parser turns each numeric result field of the payload into one
// [report.CheckUpdate]. What the numbers mean is not documented for the
// webhook; see [DefaultResults] for the table used and how to override it.
// Credas's other webhooks (a JSON object without UpdateType: the process
// actor webhook about invite delivery, the process webhook) report neither
// and are ignored, never dead-lettered.
package credas

import "github.com/idvbus/idvbus/internal/vendors/report"

// Vendor is Credas.
type Vendor struct{}

// Name returns "credas".
func (Vendor) Name() string { return "credas" }

// EventID reports that Credas's webhook body carries no event id: ingest then
// deduplicates on a hash of the body.
func (Vendor) EventID([]byte) (string, bool) { return "", false }

// NewParser returns the Credas parser. opts.Results overrides the numeric
// result table (see [DefaultResults]); keys are "default" or a unified check
// name, values map a decimal result code to a unified result. An unknown
// check name, a key that is not a decimal integer or an unknown result gives
// an error wrapping [report.ErrOptions] that names the bad key. The merged
// tables are built here once, so Parse only looks values up.
func (Vendor) NewParser(opts report.Options) (report.Parser, error) {
	t, err := newTables(opts.Results)
	if err != nil {
		return nil, err
	}
	return &parser{tables: t}, nil
}
