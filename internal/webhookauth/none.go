package webhookauth

import (
	"net/http"
	"time"
)

// noneScheme accepts every request. New refuses it unless the source sets
// allow_unauthenticated: true, so it cannot be selected by a typo alone; it
// still honours allow_ips, the usual companion for vendors that sign nothing
// (Jumio).
var noneScheme = scheme{
	build: func(Config) (Verifier, []error) { return noneVerifier{}, nil },
	sign:  func(Config, http.Header, []byte, time.Time) error { return nil },
}

// noneVerifier authenticates nothing.
type noneVerifier struct{}

// Verify always returns nil.
func (noneVerifier) Verify(*Request) error { return nil }

// CheckHeaders always returns nil.
func (noneVerifier) CheckHeaders(*Request) error { return nil }
