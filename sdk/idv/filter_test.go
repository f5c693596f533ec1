package idv_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/sdk/idv"
)

const (
	verif = idv.TypeVerificationUpdated
	check = idv.TypeCheckCompleted
)

var decisions = []idv.Status{"approved", "declined", "needs_review"}

func TestFilterNormalized(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out idv.Filter
	}{
		{"zero: the decisions", idv.Filter{}, idv.Filter{Statuses: decisions}},
		{"empty lists: the decisions", idv.Filter{Vendors: []string{}, Types: []idv.EventType{}, Statuses: []idv.Status{}, Checks: []idv.Check{}},
			idv.Filter{Statuses: decisions}},
		{"vendors only: their decisions", idv.Filter{Vendors: []string{"persona"}},
			idv.Filter{Vendors: []string{"persona"}, Statuses: decisions}},
		{"sorted, no repeats", idv.Filter{
			Vendors: []string{"persona", "idwise", "persona"}, Statuses: []idv.Status{"declined", "approved", "declined"},
			Checks: []idv.Check{"selfie", "document", "selfie"}},
			idv.Filter{Vendors: []string{"idwise", "persona"}, Statuses: []idv.Status{"approved", "declined"}, Checks: []idv.Check{"document", "selfie"}}},
		{"checks only: no default statuses", idv.Filter{Checks: []idv.Check{"document"}}, idv.Filter{Checks: []idv.Check{"document"}}},
		{"types only: no default statuses", idv.Filter{Types: []idv.EventType{verif}}, idv.Filter{Types: []idv.EventType{verif}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			got := in.Normalized()
			if !reflect.DeepEqual(got, tc.out) {
				t.Errorf("Normalized() = %+v, want %+v", got, tc.out)
			}
			if again := got.Normalized(); !reflect.DeepEqual(again, got) {
				t.Errorf("Normalized is not idempotent: %+v then %+v", got, again)
			}
			if !reflect.DeepEqual(in, tc.in) {
				t.Errorf("Normalized changed its receiver: %+v", in)
			}
		})
	}
	// The input's lists are not sorted in place.
	statuses := []idv.Status{"declined", "approved"}
	idv.Filter{Statuses: statuses}.Normalized()
	if statuses[0] != "declined" {
		t.Errorf("Normalized sorted the caller's slice: %q", statuses)
	}
}

func TestFilterValidate(t *testing.T) {
	allStatuses := "([created in_progress submitted passed failed resubmission_requested needs_review approved declined expired abandoned])"
	allChecks := "([document selfie liveness face_match name_check database watchlist pep adverse_media address government_validation right_to_work right_to_rent share_code supporting_document safe_harbour aml_monitoring other])"
	for _, tc := range []struct {
		name string
		f    idv.Filter
		want []string // lines; none when valid
	}{
		{"zero", idv.Filter{}, nil},
		{"every event", idv.Filter{Types: []idv.EventType{verif, check}}, nil},
		{"statuses and checks", idv.Filter{Vendors: []string{"persona", "some_vendor-2"}, Statuses: []idv.Status{"approved"}, Checks: []idv.Check{"document"}}, nil},
		{"types with their lists", idv.Filter{Types: []idv.EventType{verif, check}, Statuses: []idv.Status{"declined"}, Checks: []idv.Check{"pep"}}, nil},
		{"vendor name", idv.Filter{Vendors: []string{"Persona", "a.b", "*", ""}}, []string{
			`vendors: "Persona" is not a vendor name`, `vendors: "a.b" is not a vendor name`,
			`vendors: "*" is not a vendor name`, `vendors: "" is not a vendor name`}},
		{"type", idv.Filter{Types: []idv.EventType{"verification"}}, []string{
			`types: "verification" is not one of io.idvbus.verification.updated.v1, io.idvbus.check.completed.v1`}},
		{"status", idv.Filter{Statuses: []idv.Status{"approvd"}}, []string{`statuses: "approvd" is not a status ` + allStatuses}},
		{"check", idv.Filter{Checks: []idv.Check{"retina"}}, []string{`checks: "retina" is not a check ` + allChecks}},
		{"statuses without their type", idv.Filter{Types: []idv.EventType{check}, Statuses: []idv.Status{"approved"}}, []string{
			"statuses: has no effect: types does not include io.idvbus.verification.updated.v1"}},
		{"checks without their type", idv.Filter{Types: []idv.EventType{verif}, Checks: []idv.Check{"document"}}, []string{
			"checks: has no effect: types does not include io.idvbus.check.completed.v1"}},
		{"several problems", idv.Filter{Vendors: []string{"X"}, Statuses: []idv.Status{"good"}, Checks: []idv.Check{"bad"}}, []string{
			`vendors: "X" is not a vendor name`, `statuses: "good" is not a status ` + allStatuses, `checks: "bad" is not a check ` + allChecks}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate() lines:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestFilterSubjects(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    idv.Filter
		want []string
	}{
		{"zero: the decisions of every vendor", idv.Filter{}, []string{
			"idv.events.*.verification.approved", "idv.events.*.verification.declined", "idv.events.*.verification.needs_review"}},
		{"vendors × statuses", idv.Filter{Vendors: []string{"persona", "idwise"}, Statuses: []idv.Status{"declined", "approved"}}, []string{
			"idv.events.idwise.verification.approved", "idv.events.idwise.verification.declined",
			"idv.events.persona.verification.approved", "idv.events.persona.verification.declined"}},
		{"checks only", idv.Filter{Checks: []idv.Check{"selfie", "document"}}, []string{
			"idv.events.*.check.document", "idv.events.*.check.selfie"}},
		{"both types: every event", idv.Filter{Types: []idv.EventType{check, verif}}, []string{
			"idv.events.*.check.*", "idv.events.*.verification.*"}},
		{"verification type: every status", idv.Filter{Types: []idv.EventType{verif}}, []string{"idv.events.*.verification.*"}},
		{"check type of one vendor", idv.Filter{Vendors: []string{"credas"}, Types: []idv.EventType{check}}, []string{"idv.events.credas.check.*"}},
		{"statuses and checks", idv.Filter{Statuses: []idv.Status{"expired"}, Checks: []idv.Check{"pep"}}, []string{
			"idv.events.*.check.pep", "idv.events.*.verification.expired"}},
		{"both types, statuses listed", idv.Filter{Types: []idv.EventType{verif, check}, Statuses: []idv.Status{"approved"}}, []string{
			"idv.events.*.check.*", "idv.events.*.verification.approved"}},
		{"repeats", idv.Filter{Vendors: []string{"sumsub", "sumsub"}, Statuses: []idv.Status{"approved", "approved"}}, []string{
			"idv.events.sumsub.verification.approved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Validate(); err != nil {
				t.Fatalf("the filter must be valid: %v", err)
			}
			if got := tc.f.Subjects(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Subjects() = %q, want %q", got, tc.want)
			}
		})
	}
}

// subjectMatches is NATS subject matching for filter subjects whose
// wildcards are "*" tokens: same number of tokens, each equal or "*".
func subjectMatches(t *testing.T, filter, subject string) bool {
	t.Helper()
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	if len(ft) != len(st) {
		return false
	}
	for i := range ft {
		if ft[i] == ">" || ft[i] == "" || strings.ContainsAny(ft[i], "*> ") && ft[i] != "*" {
			t.Fatalf("filter subject %q: token %q is not a literal or *", filter, ft[i])
		}
		if ft[i] != "*" && ft[i] != st[i] {
			return false
		}
	}
	return true
}

// TestFilterMatchAgreesWithSubjects: for every filter and every event, the
// predicate Match (and MatchSubject) gives the same answer as the server's
// matching of the filter's Subjects, and at most one of those subjects
// matches (JetStream refuses overlapping filter subjects).
func TestFilterMatchAgreesWithSubjects(t *testing.T) {
	vendors := []string{"persona", "idwise", "credas", "acme"}
	vendorLists := [][]string{nil, {"persona"}, {"idwise", "persona", "idwise"}}
	typeLists := [][]idv.EventType{nil, {verif}, {check}, {verif, check}}
	statusLists := [][]idv.Status{nil, {"approved"}, {"approved", "declined", "created"}}
	checkLists := [][]idv.Check{nil, {"document"}, {"document", "pep"}}
	var filters []idv.Filter
	for _, v := range vendorLists {
		for _, ty := range typeLists {
			for _, s := range statusLists {
				for _, c := range checkLists {
					filters = append(filters, idv.Filter{Vendors: v, Types: ty, Statuses: s, Checks: c})
				}
			}
		}
	}
	// Filters Validate refuses still agree with themselves.
	filters = append(filters, idv.Filter{Types: []idv.EventType{"bogus"}}, idv.Filter{Statuses: []idv.Status{"bogus"}})

	type event struct {
		typ         idv.EventType
		kind, value string
	}
	var events []event
	for _, s := range append(idv.Statuses(), "bogus") {
		events = append(events, event{verif, "verification", string(s)})
	}
	for _, c := range append(idv.Checks(), "bogus") {
		events = append(events, event{check, "check", string(c)})
	}

	for _, f := range filters {
		subjects := f.Subjects()
		if f.Validate() == nil && len(subjects) == 0 {
			// An empty filter list means "every subject" to JetStream.
			t.Errorf("%+v: a valid filter has no subjects", f)
		}
		matched := 0
		for _, ev := range events {
			for _, vendor := range vendors {
				subject := fmt.Sprintf("idv.events.%s.%s.%s", vendor, ev.kind, ev.value)
				n := 0
				for _, fs := range subjects {
					if subjectMatches(t, fs, subject) {
						n++
					}
				}
				if n > 1 {
					t.Errorf("%+v: %d of %q match %s (overlap)", f, n, subjects, subject)
				}
				match := f.Match(ev.typ, vendor, ev.value)
				if match != (n == 1) {
					t.Errorf("%+v: Match(%s, %s, %s) = %v, but Subjects %q match: %v", f, ev.typ, vendor, ev.value, match, subjects, n == 1)
				}
				if ms := f.MatchSubject(subject); ms != match {
					t.Errorf("%+v: MatchSubject(%s) = %v, Match = %v", f, subject, ms, match)
				}
				if match {
					matched++
				}
			}
		}
		// Events of an unknown type never match.
		if f.Match("io.idvbus.other.v1", "persona", "approved") {
			t.Errorf("%+v matches an unknown event type", f)
		}
		if f.Validate() == nil && matched == 0 {
			t.Errorf("%+v: a valid filter matches no event", f)
		}
	}
}

func TestFilterZeroMatchesDecisionsOnly(t *testing.T) {
	var f idv.Filter
	for _, s := range idv.Statuses() {
		if got, want := f.Match(verif, "persona", string(s)), s.Decision(); got != want {
			t.Errorf("zero filter, status %s: Match = %v, want %v", s, got, want)
		}
	}
	for _, c := range idv.Checks() {
		if f.Match(check, "persona", string(c)) {
			t.Errorf("zero filter matches check %s", c)
		}
	}
}

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		subject       string
		typ           idv.EventType
		vendor, value string
	}{
		{"idv.events.persona.verification.approved", verif, "persona", "approved"},
		{"idv.events.idwise.check.document", check, "idwise", "document"},
		{"idv.events.some-vendor_2.check.face_match", check, "some-vendor_2", "face_match"},
	} {
		typ, vendor, value, ok := idv.ParseSubject(tc.subject)
		if !ok || typ != tc.typ || vendor != tc.vendor || value != tc.value {
			t.Errorf("ParseSubject(%q) = %q, %q, %q, %v; want %q, %q, %q", tc.subject, typ, vendor, value, ok, tc.typ, tc.vendor, tc.value)
		}
	}
	for _, subject := range []string{
		"",
		"idv.events.persona.verification",
		"idv.events.persona.verification.approved.extra",
		"idv.events..verification.approved",
		"idv.events.persona.verification.",
		"idv.events.persona.status.approved",
		"idv.events.persona.Verification.approved",
		"idv.raw.persona.persona",
		"idv.dlq.notify.onboarding",
		"foo.events.persona.check.document",
		"idv.event.persona.check.document",
	} {
		if typ, vendor, value, ok := idv.ParseSubject(subject); ok || typ != "" || vendor != "" || value != "" {
			t.Errorf("ParseSubject(%q) = %q, %q, %q, %v; want not ok", subject, typ, vendor, value, ok)
		}
		if (idv.Filter{Types: []idv.EventType{verif, check}}).MatchSubject(subject) {
			t.Errorf("MatchSubject(%q) = true for a subject that is not an event's", subject)
		}
	}
}
