package normalize

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// delivery is one webhook as the normalizer receives it.
type delivery struct {
	rawKey string
	seq    uint64
	r      report.Report
}

// lifecycle parses a vendor's fixtures (see lifecycles) into deliveries,
// leaving out events that carry nothing to apply.
func lifecycle(t *testing.T, vendor string) []delivery {
	t.Helper()
	p, err := vendors.NewParser(vendor, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []delivery
	for i, name := range lifecycles[vendor] {
		body, err := os.ReadFile(filepath.Join("..", "vendors", vendor, "testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Ignored == "" && r.VerificationID != "" {
			ds = append(ds, delivery{rawKey: vendor + ":" + name, seq: uint64(i + 1), r: r})
		}
	}
	return ds
}

// TestPropertyPermutationsAndDuplicates shuffles and duplicates each
// vendor's realistic event sequence many times and checks the contract's
// invariants on every run:
//   - revisions of the emitted status changes are 1, 2, 3... without gaps;
//   - no vendor event emits the same status (or check result) twice, even
//     when redelivered, and by a vendor retry with a re-serialized body;
//   - no two emitted events share an id;
//   - for vendors with event times (Persona), every permutation ends in the
//     same state as in-order delivery (rule 5).
func TestPropertyPermutationsAndDuplicates(t *testing.T) {
	for _, vendor := range []string{"persona", "incode", "credas", "idwise"} {
		t.Run(vendor, func(t *testing.T) {
			seq := lifecycle(t, vendor)
			if len(seq) < 3 {
				t.Fatalf("lifecycle of %d events is too short to test", len(seq))
			}
			inOrder := applyAll(t, vendor, seq)
			timed := !seq[0].r.OccurredAt.IsZero()
			rng := rand.New(rand.NewPCG(1, uint64(len(vendor))))
			for trial := 0; trial < 500; trial++ {
				run := shuffleWithDuplicates(rng, seq)
				final := applyAll(t, vendor, run)
				if timed && (final.Status != inOrder.Status || final.DecidedBy != inOrder.DecidedBy ||
					!final.StatusAt.Equal(inOrder.StatusAt) || final.ReferenceID != inOrder.ReferenceID) {
					t.Fatalf("trial %d ended in %s/%s, in order ends in %s/%s; order: %v",
						trial, final.Status, final.DecidedBy, inOrder.Status, inOrder.DecidedBy, keys(run))
				}
			}
		})
	}
}

// shuffleWithDuplicates returns a random permutation of seq in which about
// a third of the events also appear a second time at a random place: half
// of those as the same raw message (a redelivery), half as a new raw message
// of the same vendor event (a vendor retry, re-serialized).
func shuffleWithDuplicates(rng *rand.Rand, seq []delivery) []delivery {
	run := append([]delivery(nil), seq...)
	for _, d := range seq {
		if rng.IntN(3) != 0 {
			continue
		}
		if rng.IntN(2) == 0 && d.r.Key != "" {
			d.rawKey += ":retry"
			d.seq += 1000
		}
		run = append(run, d)
	}
	rng.Shuffle(len(run), func(i, j int) { run[i], run[j] = run[j], run[i] })
	return run
}

func keys(ds []delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.rawKey
	}
	return out
}

// applyAll applies ds in order to a new verification, checks the
// per-run invariants and returns the final state.
func applyAll(t *testing.T, vendor string, ds []delivery) State {
	t.Helper()
	var st State
	var revision uint64
	ids := map[string]bool{}
	emitted := map[string]bool{} // vendor event key + what it emitted
	for _, d := range ds {
		in := Input{Source: vendor, Vendor: vendor, Policy: PolicyVendor, RawKey: d.rawKey, RawStream: "IDV_RAW",
			RawSeq: d.seq, ReceivedAt: goldenReceived, Report: d.r, Now: goldenReceived}
		var outs []Output
		var err error
		st, outs, _, err = Apply(st, in)
		if err != nil {
			t.Fatal(err)
		}
		eventKey := d.r.Key
		if eventKey == "" {
			eventKey = d.rawKey
		}
		for _, o := range outs {
			if ids[o.ID] {
				t.Fatalf("event id %s emitted twice", o.ID)
			}
			ids[o.ID] = true
			what := o.Subject
			if o.Type == idv.TypeVerificationUpdated {
				var u idv.VerificationUpdated
				if err := json.Unmarshal(o.Data, &u); err != nil {
					t.Fatal(err)
				}
				if u.Revision != revision+1 {
					t.Fatalf("revision %d after %d", u.Revision, revision)
				}
				revision = u.Revision
			} else {
				var c idv.CheckCompleted
				if err := json.Unmarshal(o.Data, &c); err != nil {
					t.Fatal(err)
				}
				what = fmt.Sprint(o.Subject, c.VendorCheck, c.Result)
			}
			if emitted[eventKey+"|"+what] {
				t.Fatalf("vendor event %s emitted %s twice", eventKey, what)
			}
			emitted[eventKey+"|"+what] = true
		}
	}
	if st.Revision != revision {
		t.Fatalf("state revision %d, emitted %d", st.Revision, revision)
	}
	return st
}

// TestPropertyTimeOrderingSynthetic: random events with random distinct
// times and statuses, in every order, converge on the state of the latest
// event (rule 5), with gap-free revisions.
func TestPropertyTimeOrderingSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := idv.Statuses()
	for trial := 0; trial < 300; trial++ {
		n := 2 + rng.IntN(10)
		var seq []delivery
		for i := 0; i < n; i++ {
			st := statuses[rng.IntN(len(statuses))]
			at := base.Add(time.Duration(rng.IntN(5)) * time.Minute) // equal times happen too
			r := report.Report{Event: "e", VerificationID: "v", OccurredAt: at,
				Status: &report.StatusUpdate{Status: st, DecidedBy: idv.DecidedByVendor}}
			seq = append(seq, delivery{rawKey: fmt.Sprint("k", i), seq: uint64(i + 1), r: r})
		}
		want := applyAll(t, "acme", seq)
		for p := 0; p < 20; p++ {
			got := applyAll(t, "acme", shuffleWithDuplicates(rng, seq))
			if got.Status != want.Status || !got.StatusAt.Equal(want.StatusAt) {
				t.Fatalf("trial %d: %s@%s, in order %s@%s", trial, got.Status, got.StatusAt, want.Status, want.StatusAt)
			}
		}
	}
}
