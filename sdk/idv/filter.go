package idv

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Filter selects normalized events by vendor, type, status and check. An
// empty list puts no constraint, with one rule for the event types: when
// Types is empty, verification events are chosen if Statuses is set, and
// check events if Checks is set. The zero Filter (all empty) chooses the
// three decisions ([DecisionStatuses]) of every vendor. To choose every event,
// list both types.
//
// A Filter is both a JetStream subject filter ([Filter.Subjects], applied by
// the server) and a predicate ([Filter.Match]); the two always agree.
//
// The yaml tags name the keys of a subscriber's filter in idvbus's config
// file; they need no YAML package here.
type Filter struct {
	// Vendors are the vendors whose events are chosen; empty: every vendor.
	Vendors []string `yaml:"vendors"`
	// Types are the event types chosen (io.idvbus.verification.updated.v1,
	// io.idvbus.check.completed.v1); empty: as Statuses and Checks imply.
	Types []EventType `yaml:"types"`
	// Statuses are the verification statuses chosen; empty with Types and
	// Checks empty: the three decisions (approved, declined, needs_review).
	Statuses []Status `yaml:"statuses"`
	// Checks are the checks whose check events are chosen.
	Checks []Check `yaml:"checks"`
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
		out.Statuses = DecisionStatuses()
		slices.Sort(out.Statuses)
	}
	return out
}

func uniq[T ~string](in []T) []T {
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
		if !t.Valid() {
			errs = append(errs, fmt.Errorf("types: %q is not one of %s, %s", t, TypeVerificationUpdated, TypeCheckCompleted))
		}
	}
	for _, s := range f.Statuses {
		if !s.Valid() {
			errs = append(errs, fmt.Errorf("statuses: %q is not a status (%v)", s, statuses))
		}
	}
	for _, c := range f.Checks {
		if !c.Valid() {
			errs = append(errs, fmt.Errorf("checks: %q is not a check (%v)", c, checks))
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
func (f Filter) chooses(typ EventType) bool {
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
		add("verification", names(n.Statuses))
	}
	if n.chooses(TypeCheckCompleted) {
		add("check", names(n.Checks))
	}
	slices.Sort(out)
	return out
}

func names[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// withDefault is f with the zero Filter's default applied, without copying
// or sorting: what matching needs, on every delivered event.
func (f Filter) withDefault() Filter {
	if len(f.Types) == 0 && len(f.Statuses) == 0 && len(f.Checks) == 0 {
		f.Statuses = decisionStatuses[:] // only read: never handed out
	}
	return f
}

// Match reports whether an event with this type, vendor and status (of a
// verification event) or check (of a check event) passes the filter.
func (f Filter) Match(typ EventType, vendor, statusOrCheck string) bool {
	n := f.withDefault()
	if !n.chooses(typ) || (len(n.Vendors) > 0 && !slices.Contains(n.Vendors, vendor)) {
		return false
	}
	switch typ {
	case TypeVerificationUpdated:
		return len(n.Statuses) == 0 || slices.Contains(n.Statuses, Status(statusOrCheck))
	case TypeCheckCompleted:
		return len(n.Checks) == 0 || slices.Contains(n.Checks, Check(statusOrCheck))
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
func ParseSubject(subject string) (typ EventType, vendor, value string, ok bool) {
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
