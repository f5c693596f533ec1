package incode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

func newParser(t testing.TB) report.Parser {
	t.Helper()
	p, err := Vendor{}.NewParser(report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dump(r report.Report) string {
	st := "<nil>"
	if r.Status != nil {
		st = fmt.Sprintf("%+v", *r.Status)
	}
	return fmt.Sprintf("%+v Status=%s", r, st)
}

func TestNewParserOptions(t *testing.T) {
	_, err := Vendor{}.NewParser(report.Options{Results: map[string]map[string]idv.Result{"default": {"1": idv.ResultPassed}}})
	if !errors.Is(err, report.ErrOptions) {
		t.Fatalf("NewParser with Results: err = %v, want ErrOptions", err)
	}
}

// TestParseFixtures asserts the full Report of every file in testdata; a new
// fixture without an expectation fails the test.
func TestParseFixtures(t *testing.T) {
	rep := func(status string, s idv.Status, by idv.DecidedBy, checks ...report.CheckUpdate) report.Report {
		return report.Report{
			Event: status, VerificationID: "itv_golden1", ReferenceID: "user-42", Key: "itv_golden1:" + status,
			Status: &report.StatusUpdate{Status: s, VendorStatus: status, DecidedBy: by},
			Checks: checks,
		}
	}
	vendor, manual := idv.DecidedByVendor, idv.DecidedByManualReview
	want := map[string]report.Report{
		"UNKNOWN.json": rep("UNKNOWN", idv.StatusCreated, vendor),
		"ID_VALIDATION_FINISHED.json": rep("ID_VALIDATION_FINISHED", idv.StatusInProgress, vendor,
			report.CheckUpdate{Check: idv.CheckDocument, Result: idv.ResultCompleted, VendorCheck: "ID_VALIDATION"}),
		"ID_VALIDATION_FINISHED_SECOND_ID.json": rep("ID_VALIDATION_FINISHED_SECOND_ID", idv.StatusInProgress, vendor,
			report.CheckUpdate{Check: idv.CheckDocument, Result: idv.ResultCompleted, VendorCheck: "ID_VALIDATION_SECOND_ID", ID: "second_id"}),
		"GOVERNMENT_VALIDATION_FINISHED.json": rep("GOVERNMENT_VALIDATION_FINISHED", idv.StatusInProgress, vendor,
			report.CheckUpdate{Check: idv.CheckGovernmentValidation, Result: idv.ResultCompleted, VendorCheck: "GOVERNMENT_VALIDATION"}),
		"FACE_VALIDATION_FINISHED.json": rep("FACE_VALIDATION_FINISHED", idv.StatusInProgress, vendor,
			report.CheckUpdate{Check: idv.CheckFaceMatch, Result: idv.ResultCompleted, VendorCheck: "FACE_VALIDATION"}),
		"POST_PROCESSING_FINISHED.json": rep("POST_PROCESSING_FINISHED", idv.StatusInProgress, vendor),
		"ONBOARDING_FINISHED.json":      rep("ONBOARDING_FINISHED", idv.StatusSubmitted, vendor),
		"MANUAL_REVIEW_APPROVED.json":   rep("MANUAL_REVIEW_APPROVED", idv.StatusApproved, manual),
		"MANUAL_REVIEW_REJECTED.json":   rep("MANUAL_REVIEW_REJECTED", idv.StatusDeclined, manual),
		"unrecognized.json": {
			Event: "VIDEO_SELFIE_FINISHED", VerificationID: "itv_golden1", Key: "itv_golden1:VIDEO_SELFIE_FINISHED",
			Ignored: "event not tracked",
		},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("testdata has %d fixtures, the test expects %d", len(files), len(want))
	}
	p := newParser(t)
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected Report", name)
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Parse(body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %s\nwant %s", name, dump(got), dump(w))
		}
	}
}

func TestParseCases(t *testing.T) {
	cases := []struct {
		name, body string
		want       report.Report
	}{
		{"minimal", `{"interviewId":"itv_1","onboardingStatus":"ONBOARDING_FINISHED"}`, report.Report{
			Event: "ONBOARDING_FINISHED", VerificationID: "itv_1", Key: "itv_1:ONBOARDING_FINISHED",
			Status: &report.StatusUpdate{Status: idv.StatusSubmitted, VendorStatus: "ONBOARDING_FINISHED", DecidedBy: idv.DecidedByVendor},
		}},
		{"null and empty externalId, unknown fields", `{"extra":{"a":[1,null]},"interviewId":"itv_1","externalId":null,"clientId":7,"flowId":{"x":1},"onboardingStatus":"MANUAL_REVIEW_REJECTED"}`, report.Report{
			Event: "MANUAL_REVIEW_REJECTED", VerificationID: "itv_1", Key: "itv_1:MANUAL_REVIEW_REJECTED",
			Status: &report.StatusUpdate{Status: idv.StatusDeclined, VendorStatus: "MANUAL_REVIEW_REJECTED", DecidedBy: idv.DecidedByManualReview},
		}},
		{"empty externalId", `{"interviewId":"itv_1","externalId":"","onboardingStatus":"UNKNOWN"}`, report.Report{
			Event: "UNKNOWN", VerificationID: "itv_1", Key: "itv_1:UNKNOWN",
			Status: &report.StatusUpdate{Status: idv.StatusCreated, VendorStatus: "UNKNOWN", DecidedBy: idv.DecidedByVendor},
		}},
		{"unknown free-text status is not repeated", `{"interviewId":"itv_1","onboardingStatus":"Finished by SENTINEL"}`, report.Report{
			Event: "Finished by SENTINEL", VerificationID: "itv_1", Key: "itv_1:FINISHED_BY_SENTINEL", Ignored: "unknown event type",
		}},
		{"unknown status name is listed", `{"interviewId":"itv_1","onboardingStatus":"WORK_HISTORY_FINISHED"}`, report.Report{
			Event: "WORK_HISTORY_FINISHED", VerificationID: "itv_1", Key: "itv_1:WORK_HISTORY_FINISHED", Ignored: "unknown event type",
			Unmapped: []string{"WORK_HISTORY_FINISHED"},
		}},
		{"lower-case status is the same status", `{"interviewId":"itv_1","onboardingStatus":"onboarding_finished"}`, report.Report{
			Event: "onboarding_finished", VerificationID: "itv_1", Key: "itv_1:ONBOARDING_FINISHED",
			Status: &report.StatusUpdate{Status: idv.StatusSubmitted, VendorStatus: "onboarding_finished", DecidedBy: idv.DecidedByVendor},
		}},
		{"long status name is not repeated", `{"interviewId":"itv_1","onboardingStatus":"` + strings.Repeat("A", 65) + `"}`, report.Report{
			Event: strings.Repeat("A", 65), VerificationID: "itv_1", Key: "itv_1:" + strings.Repeat("A", 65), Ignored: "unknown event type",
		}},
		{"escaped keys and values", `{"interview\u0049d":"itv_\u0031","onboardingStatus":"ID_VALIDATION_FINISHED","externalId":"user\/42"}`, report.Report{
			Event: "ID_VALIDATION_FINISHED", VerificationID: "itv_1", ReferenceID: "user/42", Key: "itv_1:ID_VALIDATION_FINISHED",
			Status: &report.StatusUpdate{Status: idv.StatusInProgress, VendorStatus: "ID_VALIDATION_FINISHED", DecidedBy: idv.DecidedByVendor},
			Checks: []report.CheckUpdate{{Check: idv.CheckDocument, Result: idv.ResultCompleted, VendorCheck: "ID_VALIDATION"}},
		}},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}

// sentinel marks a body value that must never appear in an error message.
const sentinel = "SENTINEL"

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat(sentinel, 30) // 240 bytes
	cases := []struct{ name, body string }{
		{"empty", ``},
		{"not JSON", `SENTINEL`},
		{"truncated", `{"interviewId":"SENTINEL`},
		{"array", `[{"interviewId":"SENTINEL","onboardingStatus":"ONBOARDING_FINISHED"}]`},
		{"string", `"SENTINEL"`},
		{"null", `null`},
		{"missing interviewId", `{"onboardingStatus":"ONBOARDING_FINISHED","externalId":"SENTINEL"}`},
		{"missing interviewId, session", `{"event_type":"SESSION_SUCCEEDED","externalCustomerId":"SENTINEL"}`},
		{"empty interviewId", `{"interviewId":"","onboardingStatus":"ONBOARDING_FINISHED"}`},
		{"interviewId an object", `{"interviewId":{"SENTINEL":98765},"onboardingStatus":"ONBOARDING_FINISHED"}`},
		{"interviewId too long", `{"interviewId":"` + long + `","onboardingStatus":"ONBOARDING_FINISHED"}`},
		{"interviewId with control char", `{"interviewId":"itv\u0000SENTINEL","onboardingStatus":"ONBOARDING_FINISHED"}`},
		{"interviewId invalid UTF-8", "{\"interviewId\":\"itv\xffSENTINEL\",\"onboardingStatus\":\"ONBOARDING_FINISHED\"}"},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid (report %s)", err, dump(got))
			}
			t.Log(err)
			if msg := err.Error(); strings.Contains(msg, sentinel) || strings.Contains(msg, "98765") || strings.Contains(msg, "12345") {
				t.Errorf("error message repeats a body value: %q", msg)
			}
			if !reflect.DeepEqual(got, report.Report{}) {
				t.Errorf("report with an error: %s", dump(got))
			}
		})
	}
}

// FuzzParse: Parse never panics; an error wraps ErrInvalid; a Report that is
// not ignored has a valid verification id and only unified values.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"interviewId":"itv_1","onboardingStatus":"lower case"}`,
		`{"interviewId":"\ud800","onboardingStatus":"UNKNOWN"}`,
		`{"interviewId":1}`, `[]`, `{`, `null`,
		`{"interviewId":"i","event_type":"Session Pending Review","onboardingStatus":"ONBOARDING_FINISHED"}`,
		`{"interviewId":"i","eventType":"GLOBAL_WATCHLIST_UPDATED","externalId":7}`,
	} {
		f.Add([]byte(s))
	}
	p := newParser(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if len(err.Error()) > 100 {
				t.Fatalf("error message too long: %q", err)
			}
			return
		}
		if r.VerificationID != "" && !report.ValidID(r.VerificationID) || r.Event != "" && !report.ValidID(r.Event) {
			t.Fatalf("invalid VerificationID or Event: %s", dump(r))
		}
		if r.ReferenceID != "" && !report.ValidID(r.ReferenceID) {
			t.Fatalf("invalid ReferenceID %q", r.ReferenceID)
		}
		if r.VerificationID != "" && r.Event != "" && r.Key != r.VerificationID+":"+canonical(r.Event) || !r.OccurredAt.IsZero() {
			t.Fatalf("bad Key or OccurredAt: %s", dump(r))
		}
		for _, u := range r.Unmapped {
			if !isStatusName(u) && !strings.HasSuffix(u, "=<not a valid id>") {
				t.Fatalf("Unmapped repeats free text: %q", u)
			}
		}
		if r.Ignored != "" {
			if r.Status != nil || len(r.Checks) > 0 {
				t.Fatalf("ignored report with a status or checks: %s", dump(r))
			}
			return
		}
		if !report.ValidID(r.VerificationID) || !report.ValidID(r.Event) {
			t.Fatalf("a report without ids: %s", dump(r))
		}
		if s := r.Status; s == nil && len(r.Checks) == 0 || s != nil && (!s.Status.Valid() || !s.DecidedBy.Valid() || s.VendorStatus != r.Event) {
			t.Fatalf("bad status: %s", dump(r))
		}
		for _, c := range r.Checks {
			if !c.Check.Valid() || !c.Result.Valid() || c.VendorCheck == "" {
				t.Fatalf("bad check %+v", c)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	p := newParser(b)
	for _, name := range []string{"ID_VALIDATION_FINISHED.json", "MANUAL_REVIEW_APPROVED.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			b.Fatal(err)
		}
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

// TestParseSessionAndOtherWebhooks: the webhooks beyond onboarding status,
// in the shapes Incode documents (docs/vendors.md), and bodies that lack an
// optional field: none is an error.
func TestParseSessionAndOtherWebhooks(t *testing.T) {
	st := func(event string, s idv.Status, ref string, unmapped ...string) report.Report {
		return report.Report{Event: event, VerificationID: "itv_1", ReferenceID: ref, Key: "itv_1:" + canonical(event),
			Status:   &report.StatusUpdate{Status: s, VendorStatus: event, DecidedBy: idv.DecidedByVendor},
			Unmapped: unmapped}
	}
	chk := func(event string, c idv.Check, vendorCheck, id string) report.Report {
		return report.Report{Event: event, VerificationID: "itv_1", Key: "itv_1:" + canonical(event),
			Checks: []report.CheckUpdate{{Check: c, Result: idv.ResultCompleted, VendorCheck: vendorCheck, ID: id}}}
	}
	ign := func(event, why string, unmapped ...string) report.Report {
		r := report.Report{Event: event, VerificationID: "itv_1", Ignored: why, Unmapped: unmapped}
		if event != "" {
			r.Key = "itv_1:" + canonical(event)
		}
		return r
	}
	cases := []struct {
		name, body string
		want       report.Report
	}{
		{"SESSION_SUCCEEDED in event_type", `{"interviewId":"itv_1","event_type":"SESSION_SUCCEEDED","externalCustomerId":"cust-9","identityId":"id_1"}`,
			st("SESSION_SUCCEEDED", idv.StatusApproved, "cust-9")},
		{"Session Succeeded, production spelling", `{"interviewId":"itv_1","eventType":"Session Succeeded"}`,
			st("Session Succeeded", idv.StatusApproved, "")},
		{"event_type wins over onboardingStatus", `{"interviewId":"itv_1","event_type":"Session Failed","onboardingStatus":"ONBOARDING_FINISHED"}`,
			st("Session Failed", idv.StatusDeclined, "")},
		{"SESSION_PENDING_REVIEW in status", `{"interviewId":"itv_1","status":"SESSION_PENDING_REVIEW","externalId":"user-42"}`,
			st("SESSION_PENDING_REVIEW", idv.StatusNeedsReview, "user-42")},
		{"Session Started", `{"interviewId":"itv_1","event_type":"Session Started"}`,
			st("Session Started", idv.StatusInProgress, "")},
		{"eventType ONBOARDING_FINISHED with customerId", `{"interviewId":"itv_1","eventType":"ONBOARDING_FINISHED","timestamp":"2026-04-14T10:23:45Z","customerId":"ref-1"}`,
			st("ONBOARDING_FINISHED", idv.StatusSubmitted, "ref-1")},
		{"externalId preferred", `{"interviewId":"itv_1","event_type":"SESSION_SUCCEEDED","externalId":"a","externalCustomerId":"b"}`,
			st("SESSION_SUCCEEDED", idv.StatusApproved, "a")},
		{"malformed externalId is skipped, not fatal", `{"interviewId":"itv_1","onboardingStatus":"ONBOARDING_FINISHED","externalId":"SENTINEL\u007f","externalCustomerId":"b"}`,
			st("ONBOARDING_FINISHED", idv.StatusSubmitted, "b", "externalId=<not a valid id>")},
		{"externalId not a string", `{"interviewId":"itv_1","onboardingStatus":"ONBOARDING_FINISHED","externalId":{"SENTINEL":1}}`,
			st("ONBOARDING_FINISHED", idv.StatusSubmitted, "", "externalId=<not a valid id>")},
		{"watchlist", `{"interviewId":"itv_1","eventType":"WATCHLIST_UPDATED"}`,
			chk("WATCHLIST_UPDATED", idv.CheckWatchlist, "WATCHLIST", "")},
		{"global watchlist, prose spelling", `{"interviewId":"itv_1","event_type":"Global Watchlist Updated"}`,
			chk("Global Watchlist Updated", idv.CheckWatchlist, "WATCHLIST", "")},
		{"face authentication", `{"interviewId":"itv_1","type":"Face Authentication"}`,
			chk("Face Authentication", idv.CheckFaceMatch, "FACE_AUTHENTICATION", "face_authentication")},
		{"video selfie is not tracked", `{"interviewId":"itv_1","eventType":"Videoselfie uploaded"}`,
			ign("Videoselfie uploaded", "event not tracked")},
		{"session progress is not tracked", `{"interviewId":"itv_1","event_type":"Session Progress"}`,
			ign("Session Progress", "event not tracked")},
		{"no type at all", `{"interviewId":"itv_1","clientId":"c"}`, ign("", "no event type")},
		{"type not a string", `{"interviewId":"itv_1","onboardingStatus":["SENTINEL"]}`, ign("", "no event type")},
		{"type with control char", `{"interviewId":"itv_1","onboardingStatus":"ONBOARDING_FINISHED\nSENTINEL"}`, ign("", "no event type")},
		{"empty object", `{}`, report.Report{Ignored: "no event type"}},
		{"unknown type without interviewId", `{"eventType":"PROOF_OF_PAYMENT"}`,
			report.Report{Event: "PROOF_OF_PAYMENT", Ignored: "unknown event type", Unmapped: []string{"PROOF_OF_PAYMENT"}}},
		{"integer interviewId", `{"interviewId":98765,"onboardingStatus":"ONBOARDING_FINISHED"}`, report.Report{
			Event: "ONBOARDING_FINISHED", VerificationID: "98765", Key: "98765:ONBOARDING_FINISHED",
			Status: &report.StatusUpdate{Status: idv.StatusSubmitted, VendorStatus: "ONBOARDING_FINISHED", DecidedBy: idv.DecidedByVendor}}},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("dead-lettered: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}
