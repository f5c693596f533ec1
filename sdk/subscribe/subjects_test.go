package subscribe

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
)

// TestSubjects: the consumer's filter is the Filter's, less the event types
// without a handler.
func TestSubjects(t *testing.T) {
	upd := func(context.Context, Event, idv.VerificationUpdated) error { return nil }
	chk := func(context.Context, Event, idv.CheckCompleted) error { return nil }
	both := []idv.EventType{idv.TypeVerificationUpdated, idv.TypeCheckCompleted}
	for _, tc := range []struct {
		name string
		f    idv.Filter
		h    handlers
		want []string // nil: ErrNoHandler
	}{
		{"zero filter: decisions", idv.Filter{}, handlers{updated: upd, check: chk}, []string{
			"idv.events.*.verification.approved", "idv.events.*.verification.declined", "idv.events.*.verification.needs_review"}},
		{"both types, both handlers", idv.Filter{Types: both}, handlers{updated: upd, check: chk}, []string{
			"idv.events.*.check.*", "idv.events.*.verification.*"}},
		{"both types, status handler only", idv.Filter{Types: both, Vendors: []string{"persona"}}, handlers{updated: upd}, []string{
			"idv.events.persona.verification.*"}},
		{"statuses and checks, check handler only", idv.Filter{Statuses: []idv.Status{"approved"}, Checks: []idv.Check{"selfie"}},
			handlers{check: chk}, []string{"idv.events.*.check.selfie"}},
		{"statuses and checks, status handler only", idv.Filter{Statuses: []idv.Status{"approved"}, Checks: []idv.Check{"selfie"}},
			handlers{updated: upd}, []string{"idv.events.*.verification.approved"}},
		{"decisions, check handler only", idv.Filter{}, handlers{check: chk}, nil},
		{"no handler", idv.Filter{Types: both}, handlers{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := subjects(tc.f, tc.h)
			if tc.want == nil {
				if !errors.Is(err, ErrNoHandler) {
					t.Fatalf("subjects: %v, %v; want ErrNoHandler", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("subjects: %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestBackoff: the n-th retry waits Backoff[n-1], the last value repeating.
func TestBackoff(t *testing.T) {
	o := Options{Backoff: []time.Duration{time.Second, 5 * time.Second, time.Minute}}
	for n, want := range map[uint64]time.Duration{0: time.Second, 1: time.Second, 2: 5 * time.Second, 3: time.Minute, 4: time.Minute, 100: time.Minute} {
		if got := o.backoff(n); got != want {
			t.Errorf("after delivery %d: %s, want %s", n, got, want)
		}
	}
}
