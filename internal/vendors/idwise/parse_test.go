package idwise_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/vendors/idwise"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

const (
	journey = "journey-golden-1"
	ref     = "user-42"
)

func newParser(t testing.TB) report.Parser {
	t.Helper()
	p, err := idwise.Vendor{}.NewParser(report.Options{})
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func status(s idv.Status, word string, by idv.DecidedBy) *report.StatusUpdate {
	return &report.StatusUpdate{Status: s, VendorStatus: word, DecidedBy: by}
}

// golden is a report of journey-golden-1 / user-42.
func golden(event, key string) report.Report {
	return report.Report{Event: event, VerificationID: journey, ReferenceID: ref, Key: key}
}

func TestParseFixtures(t *testing.T) {
	with := func(r report.Report, f func(*report.Report)) report.Report { f(&r); return r }
	cases := []struct {
		file string
		want report.Report
	}{
		{"finished_user_steps.json", with(golden("Finished User Steps", "evt-golden-01"), func(r *report.Report) {
			r.Status = status(idv.StatusSubmitted, "Finished User Steps", idv.DecidedByVendor)
		})},
		{"finished_step.json", with(golden("Finished Step", "evt-golden-02"), func(r *report.Report) {
			r.Checks = []report.CheckUpdate{{Check: idv.CheckDocument, Result: idv.ResultPassed,
				VendorCheck: "Passport", VendorResult: "Passed", ID: "0"}}
		})},
		{"finished_journey_refer.json", with(golden("Finished Journey", "evt-golden-03"), func(r *report.Report) {
			r.Status = status(idv.StatusNeedsReview, "Refer", idv.DecidedByVendor)
		})},
		{"manually_reviewed_approved.json", with(golden("Manually Reviewed", "evt-golden-04"), func(r *report.Report) {
			r.Status = status(idv.StatusApproved, "Approved", idv.DecidedByManualReview)
		})},
		{"updated_journey.json", with(golden("Updated Journey", "evt-golden-05"), func(r *report.Report) {
			r.Status = status(idv.StatusDeclined, "Rejected", idv.DecidedByManualReview)
		})},
		{"aml_monitor_update.json", with(golden("AML Monitor Update", "evt-golden-06"), func(r *report.Report) {
			r.Status = status(idv.StatusNeedsReview, "Refer", idv.DecidedByVendor)
			r.Checks = []report.CheckUpdate{{Check: idv.CheckAMLMonitoring, Result: idv.ResultNeedsReview,
				VendorCheck: "AML Monitor Update", VendorResult: "Refer", ID: "aml:2"}}
		})},
		{"finished_ongoing_check.json", with(golden("Finished Ongoing Check", "evt-golden-07"), func(r *report.Report) {
			r.Checks = []report.CheckUpdate{{Check: idv.CheckSelfie, Result: idv.ResultCompleted,
				VendorCheck: "Finished Ongoing Check", VendorResult: "Complete"}}
		})},
		{"finished_spot_check.json", with(golden("Finished Spot Check", "evt-golden-08"), func(r *report.Report) {
			r.Checks = []report.CheckUpdate{{Check: idv.CheckOther, Result: idv.ResultFailed,
				VendorCheck: "Finished Spot Check", VendorResult: "Rejected"}}
		})},
		{"unknown_event.json", with(golden("Started Journey", "evt-golden-09"), func(r *report.Report) {
			r.Ignored = "unknown event"
		})},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(cases) {
		t.Errorf("%d fixtures in testdata, %d tested", len(files), len(cases))
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := p.Parse(fixture(t, tc.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse =\n%s\nwant\n%s", show(got), show(tc.want))
			}
		})
	}
}

// show prints r on one line, its Status dereferenced.
func show(r report.Report) string {
	var b strings.Builder
	b.WriteString("{Event:" + r.Event + " VerificationID:" + r.VerificationID + " ReferenceID:" + r.ReferenceID + " Key:" + r.Key)
	if r.Status != nil {
		b.WriteString(" Status:" + string(r.Status.Status) + "/" + r.Status.VendorStatus + "/" + string(r.Status.DecidedBy))
	}
	for _, c := range r.Checks {
		b.WriteString(" Check:{" + string(c.Check) + " " + string(c.Result) + " " + c.VendorCheck + " " + c.VendorResult + " " + c.ID + "}")
	}
	b.WriteString(" Ignored:" + r.Ignored + " Unmapped:" + strings.Join(r.Unmapped, ","))
	b.WriteString("}")
	return b.String()
}

// body builds an IDWise body for journey j1 / event e1 with extra body fields.
func body(event, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"event":"` + event + `","body":{"eventId":"e1","journeyId":"j1"` + extra + `}}`
}

func TestParseRules(t *testing.T) {
	base := func(event string) report.Report {
		return report.Report{Event: event, VerificationID: "j1", Key: "e1"}
	}
	st := func(event string, s idv.Status, word string, by idv.DecidedBy) report.Report {
		r := base(event)
		r.Status = status(s, word, by)
		return r
	}
	chk := func(event string, c idv.Check, res idv.Result, vc, vr, id string) report.Report {
		r := base(event)
		r.Checks = []report.CheckUpdate{{Check: c, Result: res, VendorCheck: vc, VendorResult: vr, ID: id}}
		return r
	}
	with := func(r report.Report, f func(*report.Report)) report.Report { f(&r); return r }
	FJ, MR, UJ, AML := "Finished Journey", "Manually Reviewed", "Updated Journey", "AML Monitor Update"
	cases := []struct {
		name, body string
		want       report.Report
	}{
		// Decision words.
		{"approved", body(FJ, `"systemDecision":"Approved"`), st(FJ, idv.StatusApproved, "Approved", idv.DecidedByVendor)},
		{"complete, trimmed, any case", body(FJ, `"systemDecision":"  cOMPLETE "`), st(FJ, idv.StatusApproved, "cOMPLETE", idv.DecidedByVendor)},
		{"rejected", body(FJ, `"systemDecision":"Rejected"`), st(FJ, idv.StatusDeclined, "Rejected", idv.DecidedByVendor)},
		{"failed", body(FJ, `"systemDecision":"FAILED"`), st(FJ, idv.StatusDeclined, "FAILED", idv.DecidedByVendor)},
		{"needs review with underscore", body(FJ, `"systemDecision":"NEEDS_REVIEW"`), st(FJ, idv.StatusNeedsReview, "NEEDS_REVIEW", idv.DecidedByVendor)},
		{"pending review", body(FJ, `"systemDecision":"Pending Review"`), st(FJ, idv.StatusNeedsReview, "Pending Review", idv.DecidedByVendor)},
		{"resubmission requested", body(FJ, `"systemDecision":"Resubmission Requested"`), st(FJ, idv.StatusResubmissionRequested, "Resubmission Requested", idv.DecidedByVendor)},
		{"escaped word", body(FJ, `"systemDecision":"Re\u0066er"`), st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor)},
		{"unknown word", body(FJ, `"systemDecision":"Maybe Later"`), with(base(FJ), func(r *report.Report) {
			r.Unmapped, r.Ignored = []string{"decision=Maybe Later"}, "unrecognized decision"
		})},
		{"unknown word not plain", body(FJ, `"systemDecision":"Score 42"`), with(base(FJ), func(r *report.Report) {
			r.Unmapped, r.Ignored = []string{"decision=<unrecognized>"}, "unrecognized decision"
		})},
		{"decision not a string", body(FJ, `"systemDecision":{"v":1}`), with(base(FJ), func(r *report.Report) {
			r.Unmapped, r.Ignored = []string{"decision=<unrecognized>"}, "unrecognized decision"
		})},
		{"no decision", body(FJ, `"systemDecision":"  "`), with(base(FJ), func(r *report.Report) {
			r.Ignored = "no decision"
		})},

		// Finished Journey.
		{"journey: final over system, manual decides", body(FJ, `"systemDecision":"Refer","manualDecision":"Rejected","finalDecision":"Rejected"`),
			st(FJ, idv.StatusDeclined, "Rejected", idv.DecidedByManualReview)},
		{"journey: empty manual is no manual", body(FJ, `"systemDecision":"Refer","manualDecision":"","finalDecision":"Approved"`),
			st(FJ, idv.StatusApproved, "Approved", idv.DecidedByVendor)},
		{"journey: unknown final does not fall back", body(FJ, `"systemDecision":"Approved","finalDecision":"Hold"`), with(base(FJ), func(r *report.Report) {
			r.Unmapped, r.Ignored = []string{"decision=Hold"}, "unrecognized decision"
		})},

		// Manually Reviewed.
		{"manual: manual over final", body(MR, `"manualDecision":"Resubmission Requested","finalDecision":"Refer"`),
			st(MR, idv.StatusResubmissionRequested, "Resubmission Requested", idv.DecidedByManualReview)},
		{"manual: final when no manual", body(MR, `"systemDecision":"Refer","finalDecision":"Rejected"`),
			st(MR, idv.StatusDeclined, "Rejected", idv.DecidedByManualReview)},

		// Updated Journey.
		{"updated: system change", body(UJ, `"action":"AML Amend","systemDecision":"Rejected"`),
			st(UJ, idv.StatusDeclined, "Rejected", idv.DecidedByVendor)},
		{"updated: manual equals final", body(UJ, `"action":"Step Update","systemDecision":"Refer","manualDecision":"approved","finalDecision":"Approved"`),
			st(UJ, idv.StatusApproved, "Approved", idv.DecidedByManualReview)},
		{"updated: manual differs from final", body(UJ, `"action":"AML OGM Update","systemDecision":"Rejected","manualDecision":"Approved","finalDecision":"Rejected"`),
			st(UJ, idv.StatusDeclined, "Rejected", idv.DecidedByVendor)},
		{"updated: manual review action", body(UJ, `"action":"manual review","finalDecision":"Approved"`),
			st(UJ, idv.StatusApproved, "Approved", idv.DecidedByManualReview)},

		// AML Monitor Update.
		{"aml: clear, manual final", body(AML, `"systemDecision":"Complete","manualDecision":"Approved","finalDecision":"Approved","updatedAMLVersionNumber":"7"`),
			with(st(AML, idv.StatusApproved, "Approved", idv.DecidedByManualReview), func(r *report.Report) {
				r.Checks = []report.CheckUpdate{{Check: idv.CheckAMLMonitoring, Result: idv.ResultCompleted, VendorCheck: AML, VendorResult: "Complete", ID: "aml:7"}}
			})},
		{"aml: resubmission is completed, no version", body(AML, `"systemDecision":"Resubmit","updatedAMLVersionNumber":1.5`),
			with(st(AML, idv.StatusResubmissionRequested, "Resubmit", idv.DecidedByVendor), func(r *report.Report) {
				r.Checks = []report.CheckUpdate{{Check: idv.CheckAMLMonitoring, Result: idv.ResultCompleted, VendorCheck: AML, VendorResult: "Resubmit"}}
			})},
		{"aml: unknown word keeps the check", body(AML, `"systemDecision":"Hit","updatedAMLVersionNumber":3`),
			with(chk(AML, idv.CheckAMLMonitoring, idv.ResultCompleted, AML, "Hit", "aml:3"), func(r *report.Report) {
				r.Unmapped = []string{"decision=Hit"}
			})},

		// Finished Step.
		{"step: selfie by type, status", body("Finished Step", `"stepType":"Selfie","status":"Approve","stepId":2`),
			chk("Finished Step", idv.CheckSelfie, idv.ResultPassed, "Selfie", "Approve", "2")},
		{"step: first string wins", body("Finished Step", `"stepName":7,"stepType":"  ","step":{"x":1},"documentType":"ID Card","stepResult":"Resubmit"`),
			chk("Finished Step", idv.CheckDocument, idv.ResultFailed, "ID Card", "Resubmit", "")},
		{"step: liveness", body("Finished Step", `"stepName":"Liveness check","decision":"Refer"`),
			chk("Finished Step", idv.CheckLiveness, idv.ResultNeedsReview, "Liveness check", "Refer", "")},
		{"step: aml", body("Finished Step", `"stepName":"AML Screening","result":"Rejected"`),
			chk("Finished Step", idv.CheckWatchlist, idv.ResultFailed, "AML Screening", "Rejected", "")},
		{"step: address", body("Finished Step", `"stepName":"Proof of address"`),
			chk("Finished Step", idv.CheckAddress, idv.ResultCompleted, "Proof of address", "", "")},
		{"step: stepId only", body("Finished Step", `"stepId":"20"`),
			chk("Finished Step", idv.CheckOther, idv.ResultCompleted, "20", "", "20")},
		{"step: nothing known", body("Finished Step", ``),
			chk("Finished Step", idv.CheckOther, idv.ResultCompleted, "Finished Step", "", "")},
		{"step: unknown result word", body("Finished Step", `"stepName":"Passport","result":"Blurry"`),
			with(chk("Finished Step", idv.CheckDocument, idv.ResultCompleted, "Passport", "Blurry", ""), func(r *report.Report) {
				r.Unmapped = []string{"decision=Blurry"}
			})},

		// Ongoing and spot checks.
		{"ongoing: system over final", body("Finished Ongoing Check", `"systemDecision":"Rejected","finalDecision":"Approved"`),
			chk("Finished Ongoing Check", idv.CheckSelfie, idv.ResultFailed, "Finished Ongoing Check", "Rejected", "")},
		{"ongoing: no decision", body("Finished Ongoing Check", ``),
			chk("Finished Ongoing Check", idv.CheckSelfie, idv.ResultCompleted, "Finished Ongoing Check", "", "")},
		{"spot: final when no system", body("Finished Spot Check", `"finalDecision":"Refer"`),
			chk("Finished Spot Check", idv.CheckOther, idv.ResultNeedsReview, "Finished Spot Check", "Refer", "")},

		// Envelope and ids.
		{"event name any case, as sent", body("finished JOURNEY", `"systemDecision":"Refer"`),
			st("finished JOURNEY", idv.StatusNeedsReview, "Refer", idv.DecidedByVendor)},
		{"integer ids, reference", `{"event":"Finished User Steps","body":{"eventId":987,"journeyId":123,"referenceNo":"r-1","extra":[1,2]}}`,
			report.Report{Event: "Finished User Steps", VerificationID: "123", ReferenceID: "r-1", Key: "987",
				Status: status(idv.StatusSubmitted, "Finished User Steps", idv.DecidedByVendor)}},
		{"empty referenceNo", body("Finished User Steps", `"referenceNo":""`),
			st("Finished User Steps", idv.StatusSubmitted, "Finished User Steps", idv.DecidedByVendor)},
		{"upper-case field names", `{"EVENT":"Finished Journey","Body":{"EventId":"e1","JourneyID":"j1","SystemDecision":"Refer"}}`,
			st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor)},
		// body.eventId is optional (the raw key, a body hash, stands in).
		{"missing eventId", `{"event":"Finished Journey","body":{"journeyId":"j1","systemDecision":"Refer"}}`,
			withKey(st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor), "")},
		{"eventId null", `{"event":"Finished Journey","body":{"eventId":null,"journeyId":"j1","systemDecision":"Refer"}}`,
			withKey(st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor), "")},
		{"eventId bool", `{"event":"Finished Journey","body":{"eventId":true,"journeyId":"j1","systemDecision":"Refer"}}`,
			withKey(st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor), "")},
		{"eventId too long", `{"event":"Finished Journey","body":{"eventId":"` + strings.Repeat("e", report.MaxIDLen+1) + `","journeyId":"j1","systemDecision":"Refer"}}`,
			withKey(st(FJ, idv.StatusNeedsReview, "Refer", idv.DecidedByVendor), "")},
		{"unknown event needs no ids", `{"event":"Something New","body":{"journeyId":{"a":1}}}`,
			report.Report{Event: "Something New", Ignored: "unknown event"}},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse =\n%s\nwant\n%s", show(got), show(tc.want))
			}
		})
	}
}

const secret = "S3CR3T"

func TestParseInvalid(t *testing.T) {
	long := secret + strings.Repeat("x", report.MaxIDLen)
	cases := []struct{ name, body string }{
		{"not JSON", `S3CR3T`},
		{"truncated", `{"event":"Finished Journey","body":{"journeyId":"S3CR3T"`},
		{"array", `["S3CR3T"]`},
		{"string", `"S3CR3T"`},
		{"null", `null`},
		{"empty object", `{}`},
		{"no event", `{"body":{"eventId":"e1","journeyId":"S3CR3T"}}`},
		{"event not a string", `{"event":12,"body":{"eventId":"e1","journeyId":"S3CR3T"}}`},
		{"event empty", `{"event":"","body":{"eventId":"e1","journeyId":"S3CR3T"}}`},
		{"event control char", `{"event":"S3CR3T\n","body":{"eventId":"e1","journeyId":"j"}}`},
		{"no body", `{"event":"Finished Journey","journeyId":"S3CR3T"}`},
		{"body null", `{"event":"Finished Journey","body":null}`},
		{"body string", `{"event":"Finished Journey","body":"S3CR3T"}`},
		{"body array", `{"event":"Finished Journey","body":["S3CR3T"]}`},
		{"missing journeyId", `{"event":"Finished Journey","body":{"eventId":"e1","referenceNo":"S3CR3T"}}`},
		{"journeyId empty", `{"event":"Finished Journey","body":{"eventId":"e1","journeyId":"","referenceNo":"S3CR3T"}}`},
		{"journeyId object", `{"event":"Finished Journey","body":{"eventId":"e1","journeyId":{"S3CR3T":1}}}`},
		{"journeyId fraction", `{"event":"Finished Journey","body":{"eventId":"e1","journeyId":1.5,"referenceNo":"S3CR3T"}}`},
		{"journeyId too long", `{"event":"Finished Journey","body":{"eventId":"e1","journeyId":"` + long + `"}}`},
		{"journeyId control char", `{"event":"Finished Journey","body":{"eventId":"e1","journeyId":"S3CR3T\u0000"}}`},
		{"journeyId invalid UTF-8", "{\"event\":\"Finished Journey\",\"body\":{\"eventId\":\"e1\",\"journeyId\":\"S3CR3T\xfe\"}}"},
		{"referenceNo too long", `{"event":"Finished Journey","body":{"eventId":"e","journeyId":"j","referenceNo":"` + long + `"}}`},
		{"referenceNo control char", `{"event":"Finished Journey","body":{"eventId":"e","journeyId":"j","referenceNo":"S3CR3T\t"}}`},
		{"referenceNo object", `{"event":"Finished Journey","body":{"eventId":"e","journeyId":"j","referenceNo":{"S3CR3T":1}}}`},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.Parse([]byte(tc.body))
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("Parse = %s, %v; want ErrInvalid", show(r), err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "xxxx") {
				t.Errorf("error %q quotes the body", err)
			}
		})
	}
}

func TestNewParserOptions(t *testing.T) {
	_, err := idwise.Vendor{}.NewParser(report.Options{Results: map[string]map[string]idv.Result{"default": {"1": idv.ResultPassed}}})
	if !errors.Is(err, report.ErrOptions) {
		t.Errorf("NewParser with results: err = %v, want ErrOptions", err)
	}
}

// FuzzParse: Parse never panics; an error wraps ErrInvalid; a report that
// is not ignored has valid ids and only unified statuses, checks and results.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		body("Finished Step", `"stepName":"Selfie","result":"Approve","stepId":3`),
		body("Updated Journey", `"action":"Manual Review","finalDecision":"Approved"`),
		body("Finished Journey", `"systemDecision":"x\u0001y"`),
		`{"event":"Finished Journey","body":{"eventId":1,"journeyId":-2}}`,
		`[]`, `null`, `{`, `{"event":"a","body":{}}`,
	} {
		f.Add([]byte(s))
	}
	p := newParser(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := p.Parse(b)
		if err != nil {
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !report.ValidID(r.Event) {
			t.Fatalf("invalid Event %q", r.Event)
		}
		for _, id := range []string{r.VerificationID, r.ReferenceID, r.Key} {
			if id != "" && !report.ValidID(id) {
				t.Fatalf("invalid id %q", id)
			}
		}
		if r.Ignored != "" {
			return
		}
		if !report.ValidID(r.VerificationID) {
			t.Fatalf("invalid VerificationID %q", r.VerificationID)
		}
		if r.Status == nil && len(r.Checks) == 0 {
			t.Fatalf("neither status nor checks: %s", show(r))
		}
		if s := r.Status; s != nil && (!s.Status.Valid() || !s.DecidedBy.Valid() || s.VendorStatus == "") {
			t.Fatalf("bad status %+v", *s)
		}
		for _, c := range r.Checks {
			if !c.Check.Valid() || !c.Result.Valid() || c.VendorCheck == "" {
				t.Fatalf("bad check %+v", c)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"manually_reviewed_approved.json", "aml_monitor_update.json"} {
		body := fixture(b, name)
		p := newParser(b)
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := p.Parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func withKey(r report.Report, key string) report.Report {
	r.Key = key
	return r
}
