// Package incode understands Incode onboarding-status webhooks
// (`interviewId`, `onboardingStatus`, optional `externalId`).
package incode

import "github.com/idvbus/idvbus/pkg/vendors/report"

// Vendor is Incode.
type Vendor struct{}

// Name returns "incode".
func (Vendor) Name() string { return "incode" }

// EventID reports that Incode's webhook body carries no event id: ingest then
// deduplicates on a hash of the body, which is identical across Incode's retries.
func (Vendor) EventID([]byte) (string, bool) { return "", false }

// NewParser is not implemented yet.
func (Vendor) NewParser(report.Options) (report.Parser, error) { return nil, report.ErrNoParser }
