package credas

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// defaultKey is the Options.Results key whose overrides apply to every check.
const defaultKey = "default"

// defaultResults is the shipped table; see [DefaultResults] for why.
var defaultResults = map[int64]idv.Result{
	0: idv.ResultNotPerformed, // NotPerformed
	1: idv.ResultPassed,       // AutoPass
	2: idv.ResultFailed,       // AutoFail
	3: idv.ResultNeedsReview,  // PendingManualCheck
	4: idv.ResultPassed,       // ManualPass
	5: idv.ResultFailed,       // ManualFail
	6: idv.ResultNeedsReview,  // ManualRefer
	7: idv.ResultPending,      // Requested
}

// DefaultResults returns a copy of the table that turns the numbers of a
// Credas webhook's result fields (`…VerificationResult`, `Status`, `Result`,
// `OverallResult`) into unified results, keyed by the decimal value as in
// config:
//
//	0 not_performed  NotPerformed
//	1 passed         AutoPass
//	2 failed         AutoFail
//	3 needs_review   PendingManualCheck
//	4 passed         ManualPass
//	5 failed         ManualFail
//	6 needs_review   ManualRefer
//	7 pending        Requested
//
// This table is an INFERENCE, not a documented mapping. Credas documents
// this 0–7 enum (the v2 "ci" manual-review outcome) for the Safe Harbour
// check status and for updating a right-to-work/rent outcome; it does not
// say which enum the webhook's fields use. What is confirmed: the fields are
// numbers, the documented name-check example sends
// NameCheckVerificationResult 3, and values 0, 3, 4 and 5 occur. This enum is
// the only documented one with a 5 that fits, and the webhook fires when an
// agent remediates a result, which yields its Manual* values. Beware 4 on
// right-to-work/rent `Status`: Credas's active-checks API uses another enum
// in which 4 is Fail.
//
// A value missing from the table gives result completed, keeps the number
// as vendor_result and is reported in Report.Unmapped as "<field>=<n>".
//
// Override it per source in config with `sources[].results`: the key
// "default" changes every check, a unified check name changes that check
// only (applied after "default"), e.g.
//
//	results: {right_to_work: {"4": failed}, default: {"7": not_performed}}
func DefaultResults() map[string]idv.Result {
	m := make(map[string]idv.Result, len(defaultResults))
	for k, v := range defaultResults {
		m[strconv.FormatInt(k, 10)] = v
	}
	return m
}

// tables holds the merged result tables of one parser; read-only after
// newTables, so one parser serves concurrent Parse calls.
type tables struct {
	// base is the default table merged with the "default" overrides.
	base map[int64]idv.Result
	// byCheck holds, for each check with overrides of its own, base merged
	// with them.
	byCheck map[idv.Check]map[int64]idv.Result
}

// lookup returns the unified result of value v of check c.
func (t *tables) lookup(c idv.Check, v int64) (idv.Result, bool) {
	m := t.byCheck[c]
	if m == nil {
		m = t.base
	}
	r, ok := m[v]
	return r, ok
}

// newTables validates the Options.Results overrides and merges them: a
// check's table is the default table, then the "default" overrides, then the
// check's own. Keys are visited in sorted order so the error names the same
// bad key every time.
func newTables(over map[string]map[string]idv.Result) (*tables, error) {
	parsed := make(map[string]map[int64]idv.Result, len(over))
	for _, name := range slices.Sorted(maps.Keys(over)) {
		if name != defaultKey && !idv.Check(name).Valid() {
			return nil, fmt.Errorf("%w: results: %q is neither %q nor a check name", report.ErrOptions, name, defaultKey)
		}
		vals := over[name]
		m := make(map[int64]idv.Result, len(vals))
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil || strconv.FormatInt(n, 10) != k {
				return nil, fmt.Errorf("%w: results.%s: key %q is not a decimal integer", report.ErrOptions, name, k)
			}
			if r := vals[k]; !r.Valid() {
				return nil, fmt.Errorf("%w: results.%s.%s: %q is not a result", report.ErrOptions, name, k, r)
			}
			m[n] = vals[k]
		}
		parsed[name] = m
	}
	t := &tables{base: maps.Clone(defaultResults)}
	maps.Copy(t.base, parsed[defaultKey])
	for name, m := range parsed {
		if name == defaultKey {
			continue
		}
		if t.byCheck == nil {
			t.byCheck = make(map[idv.Check]map[int64]idv.Result)
		}
		c := maps.Clone(t.base)
		maps.Copy(c, m)
		t.byCheck[idv.Check(name)] = c
	}
	return t, nil
}
