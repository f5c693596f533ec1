package normalize

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

var t0 = time.Date(2026, 3, 15, 18, 35, 1, 0, time.UTC)

// ev builds a status report for verification "v1".
func ev(key string, s idv.Status, at time.Time, by idv.DecidedBy) report.Report {
	return report.Report{
		Event: "evt." + string(s), VerificationID: "v1", OccurredAt: at, Key: key,
		Status: &report.StatusUpdate{Status: s, VendorStatus: string(s), DecidedBy: by},
	}
}

func in(r report.Report, seq uint64, pol Policy) Input {
	return Input{
		Source: "src", Vendor: "acme", Policy: pol,
		RawKey: fmt.Sprintf("src:raw-%d", seq), RawStream: "IDV_RAW", RawSeq: seq,
		ReceivedAt: t0.Add(time.Hour), Report: r, Now: t0.Add(2 * time.Hour),
	}
}

func mustApply(t *testing.T, s State, i Input) (State, []Output, Result) {
	t.Helper()
	n, out, res, err := Apply(s, i)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return n, out, res
}

func updates(t *testing.T, out []Output) []idv.VerificationUpdated {
	t.Helper()
	var us []idv.VerificationUpdated
	for _, o := range out {
		if o.Type != idv.TypeVerificationUpdated {
			continue
		}
		var u idv.VerificationUpdated
		if err := json.Unmarshal(o.Data, &u); err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	return us
}

func TestApplyRevisionsAndDuplicates(t *testing.T) {
	var s State
	var all []idv.VerificationUpdated
	for i, st := range []idv.Status{idv.StatusCreated, idv.StatusInProgress, idv.StatusPassed, idv.StatusApproved} {
		var out []Output
		s, out, _ = mustApply(t, s, in(ev(fmt.Sprint("k", i), st, t0.Add(time.Duration(i)*time.Minute), ""), uint64(i+1), PolicyVendor))
		all = append(all, updates(t, out)...)
	}
	if len(all) != 4 {
		t.Fatalf("emitted %d status changes, want 4", len(all))
	}
	for i, u := range all {
		if u.Revision != uint64(i+1) {
			t.Errorf("change %d has revision %d", i, u.Revision)
		}
		if i > 0 && u.PreviousStatus != all[i-1].Status {
			t.Errorf("change %d previous_status %q, want %q", i, u.PreviousStatus, all[i-1].Status)
		}
		if u.DecidedBy != idv.DecidedByVendor {
			t.Errorf("decided_by %q", u.DecidedBy)
		}
	}
	if all[0].PreviousStatus != "" || !all[3].Terminal || all[2].Terminal {
		t.Errorf("previous/terminal wrong: %+v", all)
	}
	// The same vendor event again, even from another raw copy: nothing.
	again := in(ev("k2", idv.StatusPassed, t0.Add(2*time.Minute), ""), 99, PolicyVendor)
	n, out, res := mustApply(t, s, again)
	if !res.Duplicate || len(out) != 0 || n.Revision != s.Revision {
		t.Fatalf("duplicate applied: %+v, %d outputs", res, len(out))
	}
}

func TestApplyEventTimeOrdering(t *testing.T) {
	var s State
	s, _, _ = mustApply(t, s, in(ev("a", idv.StatusApproved, t0.Add(time.Hour), ""), 1, PolicyVendor))
	// An older event arriving late changes no status (rule 3).
	n, out, res := mustApply(t, s, in(ev("b", idv.StatusInProgress, t0, ""), 2, PolicyVendor))
	if len(out) != 0 || res.Stale != 1 || n.Status != idv.StatusApproved {
		t.Fatalf("older event applied: status %s, %d outputs, %+v", n.Status, len(out), res)
	}
	// A newer one applies, even a lower-ranked one: the vendor's time rules.
	n, out, _ = mustApply(t, n, in(ev("c", idv.StatusNeedsReview, t0.Add(2*time.Hour), ""), 3, PolicyVendor))
	if len(out) != 1 || n.Status != idv.StatusNeedsReview || n.Revision != 2 {
		t.Fatalf("newer event not applied: %s rev %d", n.Status, n.Revision)
	}
	// Same instant: the higher rank wins, whatever the arrival order.
	for _, order := range [][]idv.Status{{idv.StatusPassed, idv.StatusApproved}, {idv.StatusApproved, idv.StatusPassed}} {
		var s State
		for i, st := range order {
			s, _, _ = mustApply(t, s, in(ev(string(st), st, t0, ""), uint64(i+1), PolicyVendor))
		}
		if s.Status != idv.StatusApproved {
			t.Errorf("order %v ended in %s", order, s.Status)
		}
	}
}

func TestApplyRankOrderingWithoutTimes(t *testing.T) {
	var zero time.Time
	cases := []struct {
		name  string
		steps []report.Report
		want  idv.Status
		emits int
	}{
		{"never down", []report.Report{ev("1", idv.StatusSubmitted, zero, ""), ev("2", idv.StatusInProgress, zero, "")}, idv.StatusSubmitted, 1},
		{"up", []report.Report{ev("1", idv.StatusInProgress, zero, ""), ev("2", idv.StatusNeedsReview, zero, "")}, idv.StatusNeedsReview, 2},
		{"resubmission back to in_progress", []report.Report{ev("1", idv.StatusResubmissionRequested, zero, ""), ev("2", idv.StatusInProgress, zero, "")}, idv.StatusInProgress, 2},
		{"manual review always applies", []report.Report{ev("1", idv.StatusApproved, zero, ""), ev("2", idv.StatusResubmissionRequested, zero, idv.DecidedByManualReview)}, idv.StatusResubmissionRequested, 2},
		{"terminal stays", []report.Report{ev("1", idv.StatusDeclined, zero, ""), ev("2", idv.StatusCreated, zero, "")}, idv.StatusDeclined, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s State
			emits := 0
			for i, r := range tc.steps {
				var out []Output
				s, out, _ = mustApply(t, s, in(r, uint64(i+1), PolicyVendor))
				emits += len(out)
			}
			if s.Status != tc.want || emits != tc.emits {
				t.Fatalf("ended in %s after %d events, want %s after %d", s.Status, emits, tc.want, tc.emits)
			}
		})
	}
}

func TestApplyAutoPolicy(t *testing.T) {
	var zero time.Time
	var s State
	s, out, _ := mustApply(t, s, in(ev("1", idv.StatusPassed, zero, ""), 1, PolicyAuto))
	us := updates(t, out)
	if len(us) != 2 || us[0].Status != idv.StatusPassed || us[1].Status != idv.StatusApproved ||
		us[1].DecidedBy != idv.DecidedByPolicy || us[1].Revision != 2 || us[1].PreviousStatus != idv.StatusPassed {
		t.Fatalf("auto policy emitted %+v", us)
	}
	if out[0].ID == out[1].ID {
		t.Fatal("two events share an id")
	}
	// A later vendor decision overrides the policy's, though approved ranks higher.
	_, out, _ = mustApply(t, s, in(ev("2", idv.StatusNeedsReview, zero, ""), 2, PolicyAuto))
	us = updates(t, out)
	if len(us) != 1 || us[0].Status != idv.StatusNeedsReview || us[0].DecidedBy != idv.DecidedByVendor {
		t.Fatalf("vendor decision did not override the policy: %+v", us)
	}
	// failed → declined.
	var f State
	_, out, _ = mustApply(t, f, in(ev("1", idv.StatusFailed, zero, ""), 1, PolicyAuto))
	if us := updates(t, out); len(us) != 2 || us[1].Status != idv.StatusDeclined {
		t.Fatalf("failed under auto emitted %+v", us)
	}
}

func TestApplyChecks(t *testing.T) {
	chk := func(key string, at time.Time, res idv.Result) report.Report {
		return report.Report{Event: "verification", VerificationID: "v1", OccurredAt: at, Key: key,
			Checks: []report.CheckUpdate{{Check: idv.CheckSelfie, Result: res, VendorCheck: "verification/selfie", ID: "ver_1"}}}
	}
	var s State
	s, out, _ := mustApply(t, s, in(chk("a", t0.Add(time.Minute), idv.ResultFailed), 1, PolicyVendor))
	if len(out) != 1 || out[0].Type != idv.TypeCheckCompleted || out[0].Subject != "idv.events.acme.check.selfie" {
		t.Fatalf("check not emitted: %+v", out)
	}
	_, out, res := mustApply(t, s, in(chk("b", t0, idv.ResultPassed), 2, PolicyVendor))
	if len(out) != 0 || res.Stale != 1 {
		t.Fatalf("older check result emitted: %+v", out)
	}
}

func TestApplyDeterministicIDs(t *testing.T) {
	r := ev("k", idv.StatusApproved, t0, "")
	_, a, _ := mustApply(t, State{}, in(r, 1, PolicyVendor))
	_, b, _ := mustApply(t, State{}, in(r, 1, PolicyVendor))
	if a[0].ID != b[0].ID || a[0].ID != EventID("src:raw-1", "s0") || len(a[0].ID) != 32 {
		t.Fatalf("ids differ: %s %s", a[0].ID, b[0].ID)
	}
}

func TestApplyBoundsMemory(t *testing.T) {
	var s State
	for i := 0; i < MaxApplied+10; i++ {
		s, _, _ = mustApply(t, s, in(ev(fmt.Sprint(i), idv.StatusInProgress, t0.Add(time.Duration(i)), ""), uint64(i+1), PolicyVendor))
	}
	if len(s.Applied) != MaxApplied || len(s.History) > MaxHistory {
		t.Fatalf("applied %d, history %d", len(s.Applied), len(s.History))
	}
	// The newest keys are still remembered.
	if _, _, res := mustApply(t, s, in(ev(fmt.Sprint(MaxApplied+9), idv.StatusInProgress, t0, ""), 1, PolicyVendor)); !res.Duplicate {
		t.Fatal("recent key forgotten")
	}
}

// TestApplyCollisionKey: two different bodies under one vendor id (ingest
// stored the second under a collision key) are both applied even when their
// parser Key is the same; a redelivery of either is still a duplicate, and a
// parser Key keeps deduplicating re-serialized bodies stored under plain keys.
func TestApplyCollisionKey(t *testing.T) {
	hex64 := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	first := in(ev("e1", idv.StatusInProgress, time.Time{}, idv.DecidedByVendor), 1, PolicyVendor)
	first.RawKey = "src:e1"
	second := in(ev("e1", idv.StatusNeedsReview, time.Time{}, idv.DecidedByVendor), 2, PolicyVendor)
	second.RawKey = "src:e1:sha256:" + hex64
	var s State
	s, out, _ := mustApply(t, s, first)
	if len(out) != 1 {
		t.Fatalf("first body: %d events", len(out))
	}
	s, out, res := mustApply(t, s, second)
	if res.Duplicate || len(out) != 1 || updates(t, out)[0].Status != idv.StatusNeedsReview {
		t.Fatalf("second body under the same vendor id: %+v, %d events", res, len(out))
	}
	if EventID(first.RawKey, "0") == EventID(second.RawKey, "0") {
		t.Fatal("both bodies got the same event id")
	}
	for _, again := range []Input{first, second} {
		if _, out, res := mustApply(t, s, again); !res.Duplicate || len(out) != 0 {
			t.Errorf("redelivery of %s: %+v, %d events", again.RawKey, res, len(out))
		}
	}
	// A body-hash raw key is not a collision: the parser Key still
	// recognises a re-serialized retry.
	reser := second
	reser.RawKey = "src:sha256:" + hex64
	reser.Report.Key = "e1"
	if _, out, res := mustApply(t, s, reser); !res.Duplicate || len(out) != 0 {
		t.Errorf("re-serialized retry under a hash key: %+v, %d events", res, len(out))
	}
}
