package idv

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DecisionStatuses are the statuses a subscriber receives by default.
var DecisionStatuses = []Status{StatusApproved, StatusDeclined, StatusNeedsReview}

// Filter selects normalized events by vendor, type, status and check. An
// empty list puts no constraint, with one rule for the event types: when
// Types is empty, verification events are chosen if Statuses is set, and
// check events if Checks is set. The zero Filter (all empty) chooses the
// three decisions ([DecisionStatuses]) of every vendor. To choose every event,
// list both types.
//
// A Filter is both a JetStream subject filter ([Filter.Subjects], applied by
// the server) and a predicate ([Filter.Match]); the two always agree.
type Filter struct {
	// Vendors are the vendors whose events are chosen; empty: every vendor.
	Vendors []string `yaml:"vendors"`
	// Types are the event types chosen (io.idvbus.verification.updated.v1,
	// io.idvbus.check.completed.v1); empty: as Statuses and Checks imply.
	Types []string `yaml:"types"`
	// Statuses are the verification statuses chosen; empty with Types and
	// Checks empty: the three decisions (approved, declined, needs_review).
	Statuses []string `yaml:"statuses"`
	// Checks are the checks whose check events are chosen.
	Checks []string `yaml:"checks"`
}

// Normalized returns f with the default applied (the zero Filter's
// statuses become the decisions) and every list sorted and without repeats.
func (f Filter) Normalized() Filter {
	out := Filter{
		Vendors:  uniq(f.Vendors),
		Types:    uniq(f.Types),
		Statuses: uniq(f.Statuses),
		Checks:   uniq(f.Checks),
	}
	if len(out.Types) == 0 && len(out.Statuses) == 0 && len(out.Checks) == 0 {
		out.Statuses = uniq(decisionNames)
	}
	return out
}

func uniq(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// vendorName is what a vendor name in a subject must look like.
var vendorName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Validate reports unknown types, statuses and checks, vendor names that
// cannot be part of a subject, and lists that can have no effect (statuses
// when verification events are not chosen, checks when check events are
// not). It says which list and which value, one problem per line.
func (f Filter) Validate() error {
	var errs []error
	for _, v := range f.Vendors {
		if !vendorName.MatchString(v) {
			errs = append(errs, fmt.Errorf("vendors: %q is not a vendor name", v))
		}
	}
	for _, t := range f.Types {
		if t != TypeVerificationUpdated && t != TypeCheckCompleted {
			errs = append(errs, fmt.Errorf("types: %q is not one of %s, %s", t, TypeVerificationUpdated, TypeCheckCompleted))
		}
	}
	for _, s := range f.Statuses {
		if !Status(s).Valid() {
			errs = append(errs, fmt.Errorf("statuses: %q is not a status (%v)", s, Statuses))
		}
	}
	for _, c := range f.Checks {
		if !Check(c).Valid() {
			errs = append(errs, fmt.Errorf("checks: %q is not a check (%v)", c, Checks))
		}
	}
	n := f.Normalized()
	if len(n.Types) > 0 {
		if len(n.Statuses) > 0 && !n.chooses(TypeVerificationUpdated) {
			errs = append(errs, fmt.Errorf("statuses: has no effect: types does not include %s", TypeVerificationUpdated))
		}
		if len(n.Checks) > 0 && !n.chooses(TypeCheckCompleted) {
			errs = append(errs, fmt.Errorf("checks: has no effect: types does not include %s", TypeCheckCompleted))
		}
	}
	return errors.Join(errs...)
}

// chooses reports whether events of type typ can pass the normalized filter.
func (f Filter) chooses(typ string) bool {
	if len(f.Types) > 0 {
		return slices.Contains(f.Types, typ)
	}
	switch typ {
	case TypeVerificationUpdated:
		return len(f.Statuses) > 0
	case TypeCheckCompleted:
		return len(f.Checks) > 0
	}
	return false
}

// Subjects returns the IDV_EVENTS subjects the filter chooses, as
// non-overlapping JetStream filter subjects (wildcards where a list is
// empty), sorted.
func (f Filter) Subjects() []string {
	n := f.Normalized()
	vendors := n.Vendors
	if len(vendors) == 0 {
		vendors = []string{"*"}
	}
	var out []string
	add := func(kind string, values []string) {
		if len(values) == 0 {
			values = []string{"*"}
		}
		for _, v := range vendors {
			for _, x := range values {
				out = append(out, "idv.events."+v+"."+kind+"."+x)
			}
		}
	}
	if n.chooses(TypeVerificationUpdated) {
		add("verification", n.Statuses)
	}
	if n.chooses(TypeCheckCompleted) {
		add("check", n.Checks)
	}
	slices.Sort(out)
	return out
}

// decisionNames are DecisionStatuses as strings: the zero Filter's statuses.
var decisionNames = func() []string {
	out := make([]string, len(DecisionStatuses))
	for i, s := range DecisionStatuses {
		out[i] = string(s)
	}
	return out
}()

// withDefault is f with the zero Filter's default applied, without copying
// or sorting: what matching needs, on every delivered event.
func (f Filter) withDefault() Filter {
	if len(f.Types) == 0 && len(f.Statuses) == 0 && len(f.Checks) == 0 {
		f.Statuses = decisionNames
	}
	return f
}

// Match reports whether an event with this type, vendor and status (of a
// verification event) or check (of a check event) passes the filter.
func (f Filter) Match(typ, vendor, statusOrCheck string) bool {
	n := f.withDefault()
	if !n.chooses(typ) || (len(n.Vendors) > 0 && !slices.Contains(n.Vendors, vendor)) {
		return false
	}
	switch typ {
	case TypeVerificationUpdated:
		return len(n.Statuses) == 0 || slices.Contains(n.Statuses, statusOrCheck)
	case TypeCheckCompleted:
		return len(n.Checks) == 0 || slices.Contains(n.Checks, statusOrCheck)
	}
	return false
}

// MatchSubject reports whether an IDV_EVENTS subject
// (idv.events.<vendor>.verification.<status> or
// idv.events.<vendor>.check.<check>) passes the filter.
func (f Filter) MatchSubject(subject string) bool {
	typ, vendor, value, ok := ParseSubject(subject)
	return ok && f.Match(typ, vendor, value)
}

// ParseSubject splits an IDV_EVENTS subject into the event type it carries,
// the vendor and the status or check. ok is false for any other subject.
func ParseSubject(subject string) (typ, vendor, value string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "idv.events.")
	vendor, rest, ok2 := strings.Cut(rest, ".")
	kind, value, ok3 := strings.Cut(rest, ".")
	if !ok || !ok2 || !ok3 || vendor == "" || value == "" || strings.Contains(value, ".") {
		return "", "", "", false
	}
	switch kind {
	case "verification":
		return TypeVerificationUpdated, vendor, value, true
	case "check":
		return TypeCheckCompleted, vendor, value, true
	}
	return "", "", "", false
}
