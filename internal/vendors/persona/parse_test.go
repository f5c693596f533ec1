package persona

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func status(s idv.Status, vendor string) *report.StatusUpdate {
	return &report.StatusUpdate{Status: s, VendorStatus: vendor, DecidedBy: idv.DecidedByVendor}
}

func TestNewParserOptions(t *testing.T) {
	_, err := Vendor{}.NewParser(report.Options{Results: map[string]map[string]idv.Result{"default": {"1": idv.ResultPassed}}})
	if !errors.Is(err, report.ErrOptions) {
		t.Fatalf("NewParser with Results: err = %v, want ErrOptions", err)
	}
	if p, err := (Vendor{}).NewParser(report.Options{Results: map[string]map[string]idv.Result{}}); err != nil || p == nil {
		t.Fatalf("NewParser with empty Results = %v, %v; want a parser", p, err)
	}
}

// TestParseFixtures asserts the full Report of every file in testdata; a new
// fixture without an expectation fails the test.
func TestParseFixtures(t *testing.T) {
	inq := func(event, at string, st *report.StatusUpdate) report.Report {
		return report.Report{Event: event, VerificationID: "inq_golden1", ReferenceID: "user-42", OccurredAt: ts(at), Status: st}
	}
	check := func(event, at string, c report.CheckUpdate) report.Report {
		return report.Report{Event: event, VerificationID: "inq_golden1", ReferenceID: "user-42", OccurredAt: ts(at), Checks: []report.CheckUpdate{c}}
	}
	want := map[string]report.Report{
		"inquiry.created.json": inq("inquiry.created", "2024-03-15T18:30:00.120Z", status(idv.StatusCreated, "created")),
		"inquiry-session.started.json": {
			Event: "inquiry-session.started", VerificationID: "inq_golden1",
			OccurredAt: ts("2024-03-15T18:30:40.500Z"), Ignored: "event not tracked",
		},
		"inquiry.started.json": inq("inquiry.started", "2024-03-15T18:31:05.120Z", status(idv.StatusInProgress, "pending")),
		"verification.passed.json": check("verification.passed", "2024-03-15T18:32:10.250Z", report.CheckUpdate{
			Check: idv.CheckSelfie, Result: idv.ResultPassed, VendorCheck: "verification/selfie", VendorResult: "passed", ID: "ver_golden_selfie1",
		}),
		"verification.requires-retry.json": check("verification.requires-retry", "2024-03-15T18:33:15Z", report.CheckUpdate{
			Check: idv.CheckDocument, Result: idv.ResultFailed, VendorCheck: "verification/government-id", VendorResult: "requires_retry", ID: "ver_golden_govid1",
		}),
		"verification.failed.json": check("verification.failed", "2024-03-15T18:34:20.500Z", report.CheckUpdate{
			Check: idv.CheckDocument, Result: idv.ResultFailed, VendorCheck: "verification/government-id", VendorResult: "failed", ID: "ver_golden_govid2",
		}),
		"inquiry.transitioned.json": inq("inquiry.transitioned", "2024-03-15T18:35:00Z", status(idv.StatusInProgress, "pending")),
		"inquiry.completed.json":    inq("inquiry.completed", "2024-03-15T18:36:00Z", status(idv.StatusPassed, "completed")),
		"report-watchlist.ready.json": check("report/watchlist.ready", "2024-03-15T18:36:30Z", report.CheckUpdate{
			Check: idv.CheckWatchlist, Result: idv.ResultCompleted, VendorCheck: "report/watchlist", VendorResult: "ready", ID: "rep_golden_watchlist1",
		}),
		"report-watchlist.matched.json": check("report/watchlist.matched", "2024-03-15T18:36:31Z", report.CheckUpdate{
			Check: idv.CheckWatchlist, Result: idv.ResultNeedsReview, VendorCheck: "report/watchlist", VendorResult: "matched", ID: "rep_golden_watchlist1",
		}),
		"inquiry.marked-for-review.json": inq("inquiry.marked-for-review", "2024-03-15T18:37:00Z", status(idv.StatusNeedsReview, "needs_review")),
		"inquiry.approved.json":          inq("inquiry.approved", "2024-03-15T19:05:00Z", status(idv.StatusApproved, "approved")),
		"inquiry.declined.json":          inq("inquiry.declined", "2024-03-16T09:00:00Z", status(idv.StatusDeclined, "declined")),
		"inquiry.failed.json":            inq("inquiry.failed", "2024-03-16T09:30:00Z", status(idv.StatusFailed, "failed")),
		"inquiry.expired.json":           inq("inquiry.expired", "2024-03-17T18:30:00Z", status(idv.StatusExpired, "expired")),
		"unknown.json": {
			Event: "workflow-run.created", OccurredAt: ts("2024-03-17T18:40:00Z"), Ignored: "unknown event",
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
	var last time.Time
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected Report", name)
			continue
		}
		got, err := p.Parse(readFixture(t, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %s\nwant %s", name, dump(got), dump(w))
		}
		if got.OccurredAt.Location() != time.UTC {
			t.Errorf("%s: OccurredAt not in UTC", name)
		}
	}
	// The lifecycle order documented in testdata/README.md.
	for _, name := range []string{
		"inquiry.created.json", "inquiry-session.started.json", "inquiry.started.json",
		"verification.passed.json", "verification.requires-retry.json", "verification.failed.json",
		"inquiry.transitioned.json", "inquiry.completed.json", "report-watchlist.ready.json",
		"report-watchlist.matched.json", "inquiry.marked-for-review.json", "inquiry.approved.json",
		"inquiry.declined.json", "inquiry.failed.json", "inquiry.expired.json", "unknown.json",
	} {
		at := want[name].OccurredAt
		if !at.After(last) {
			t.Errorf("%s: created-at %v is not after the previous fixture's %v", name, at, last)
		}
		last = at
	}
}

// dump shows a Report with its Status dereferenced.
func dump(r report.Report) string {
	st := "<nil>"
	if r.Status != nil {
		st = fmt.Sprintf("%+v", *r.Status)
	}
	return fmt.Sprintf("%+v Status=%s", r, st)
}

// event builds a Persona event body around a payload.data object (JSON) and
// an optional included array.
func event(name, createdAt, data, included string) []byte {
	if included == "" {
		included = "[]"
	}
	return []byte(`{"data":{"type":"event","id":"evt_t1","attributes":{"name":"` + name +
		`","created-at":"` + createdAt + `","payload":{"data":` + data + `,"included":` + included + `}}}}`)
}

const at = "2024-03-15T18:35:00.000Z"

func inquiryData(status string) string {
	return `{"type":"inquiry","id":"inq_t1","attributes":{"status":` + status + `,"reference-id":"ref-1","name-first":"SENTINEL"}}`
}

func verificationData(typ, status string) string {
	return `{"type":"` + typ + `","id":"ver_t1","attributes":{"status":` + status +
		`},"relationships":{"inquiry":{"data":{"type":"inquiry","id":"inq_t1"}}}}`
}

func reportData(typ, rel string) string {
	return `{"type":"` + typ + `","id":"rep_t1","attributes":{"status":"ready"},"relationships":{` + rel + `}}`
}

const includedInquiry = `[{"type":"verification/selfie","id":"ver_x","attributes":{"reference-id":5}},{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"ref-1"}}]`

func TestParseInquiry(t *testing.T) {
	base := report.Report{Event: "", VerificationID: "inq_t1", ReferenceID: "ref-1", OccurredAt: ts(at)}
	with := func(event string, f func(*report.Report)) report.Report {
		r := base
		r.Event = event
		f(&r)
		return r
	}
	cases := []struct {
		name string
		body []byte
		want report.Report
	}{
		{"needs_review alias", event("inquiry.needs_review", at, inquiryData(`"needs_review"`), ""),
			with("inquiry.needs_review", func(r *report.Report) { r.Status = status(idv.StatusNeedsReview, "needs_review") })},
		{"status event without status attribute uses the suffix",
			event("inquiry.marked-for-review", at, `{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"ref-1"}}`, ""),
			with("inquiry.marked-for-review", func(r *report.Report) { r.Status = status(idv.StatusNeedsReview, "marked-for-review") })},
		{"status event with free-text status uses the suffix", event("inquiry.approved", at, inquiryData(`"Approved by SENTINEL"`), ""),
			with("inquiry.approved", func(r *report.Report) { r.Status = status(idv.StatusApproved, "approved") })},
		{"status event with non-string status uses the suffix", event("inquiry.declined", at, inquiryData(`{"x":1}`), ""),
			with("inquiry.declined", func(r *report.Report) { r.Status = status(idv.StatusDeclined, "declined") })},
		{"updated-tags takes the status attribute", event("inquiry.updated-tags", at, inquiryData(`"approved"`), ""),
			with("inquiry.updated-tags", func(r *report.Report) { r.Status = status(idv.StatusApproved, "approved") })},
		{"redacted with pending", event("inquiry.redacted", at, inquiryData(`"pending"`), ""),
			with("inquiry.redacted", func(r *report.Report) { r.Status = status(idv.StatusInProgress, "pending") })},
		{"unknown inquiry event takes the status attribute", event("inquiry.something-new", at, inquiryData(`"expired"`), ""),
			with("inquiry.something-new", func(r *report.Report) { r.Status = status(idv.StatusExpired, "expired") })},
		{"transitioned without status", event("inquiry.transitioned", at, `{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"ref-1"}}`, ""),
			with("inquiry.transitioned", func(r *report.Report) { r.Ignored = "inquiry event without status" })},
		{"transitioned with null status", event("inquiry.transitioned", at, inquiryData(`null`), ""),
			with("inquiry.transitioned", func(r *report.Report) { r.Ignored = "inquiry event without status" })},
		{"transitioned with empty status", event("inquiry.transitioned", at, inquiryData(`""`), ""),
			with("inquiry.transitioned", func(r *report.Report) { r.Ignored = "inquiry event without status" })},
		{"unknown status word is listed", event("inquiry.transitioned", at, inquiryData(`"on_hold"`), ""),
			with("inquiry.transitioned", func(r *report.Report) {
				r.Ignored = "unknown inquiry status"
				r.Unmapped = []string{"status=on_hold"}
			})},
		{"unknown free-text status is not repeated", event("inquiry.transitioned", at, inquiryData(`"SENTINEL status"`), ""),
			with("inquiry.transitioned", func(r *report.Report) {
				r.Ignored = "unknown inquiry status"
				r.Unmapped = []string{"status=<unrecognized>"}
			})},
		{"unknown non-string status", event("inquiry.transitioned", at, inquiryData(`42`), ""),
			with("inquiry.transitioned", func(r *report.Report) {
				r.Ignored = "unknown inquiry status"
				r.Unmapped = []string{"status=<unrecognized>"}
			})},
		{"null reference-id", event("inquiry.created", at, `{"type":"inquiry","id":"inq_t1","attributes":{"status":"created","reference-id":null}}`, ""),
			with("inquiry.created", func(r *report.Report) {
				r.ReferenceID = ""
				r.Status = status(idv.StatusCreated, "created")
			})},
		{"escaped strings are decoded", event("inquiry.created", at, `{"type":"inquiry","id":"inq_\u00741","attributes":{"status":"cre\u0061ted","reference-id":"ref-1"}}`, ""),
			with("inquiry.created", func(r *report.Report) { r.Status = status(idv.StatusCreated, "created") })},
		{"time offset is converted to UTC", event("inquiry.created", "2024-03-15T20:35:00+02:00", inquiryData(`"created"`), ""),
			with("inquiry.created", func(r *report.Report) { r.Status = status(idv.StatusCreated, "created") })},
		{"unknown inquiry event without inquiry payload", event("inquiry.reusable-persona-created", at, `{"type":"reusable-persona","id":"rp_1"}`, ""),
			report.Report{Event: "inquiry.reusable-persona-created", OccurredAt: ts(at), Ignored: "inquiry event without inquiry payload"}},
		{"unknown fields and a non-object included are tolerated",
			[]byte(`{"extra":[1,{"a":null}],"data":{"type":"event","id":"evt_1","attributes":{"name":"inquiry.started","created-at":"` + at +
				`","payload":{"data":` + inquiryData(`"pending"`) + `,"included":"x","meta":{"k":[true]}}}}}`),
			with("inquiry.started", func(r *report.Report) { r.Status = status(idv.StatusInProgress, "pending") })},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}

func TestParseVerification(t *testing.T) {
	p := newParser(t)
	checks := map[string]idv.Check{
		"verification/government-id":       idv.CheckDocument,
		"verification/government-id-nfc":   idv.CheckDocument,
		"verification/driver-license":      idv.CheckDocument,
		"verification/passport":            idv.CheckDocument,
		"verification/id-card":             idv.CheckDocument,
		"verification/document-with-photo": idv.CheckDocument,
		"verification/selfie":              idv.CheckSelfie,
		"verification/database":            idv.CheckDatabase,
		"verification/database-standard":   idv.CheckDatabase,
		"verification/database-business":   idv.CheckDatabase,
		"verification/aamva":               idv.CheckGovernmentValidation,
		"verification/document":            idv.CheckSupportingDocument,
		"verification/phone-number":        idv.CheckOther,
		"verification/email-address":       idv.CheckOther,
		"verification/something-new":       idv.CheckOther,
	}
	for typ, want := range checks {
		got, err := p.Parse(event("verification.passed", at, verificationData(typ, `"passed"`), includedInquiry))
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if len(got.Checks) != 1 || got.Checks[0].Check != want || got.Checks[0].VendorCheck != typ {
			t.Errorf("%s: checks %+v, want check %s", typ, got.Checks, want)
		}
	}
	results := map[string]struct {
		result       idv.Result
		vendorStatus string // "" = no status attribute
	}{
		"passed":             {idv.ResultPassed, "passed"},
		"failed":             {idv.ResultFailed, "failed"},
		"requires-retry":     {idv.ResultFailed, "requires_retry"},
		"canceled":           {idv.ResultNotPerformed, "canceled"},
		"skipped":            {idv.ResultNotPerformed, ""},
		"escalated":          {idv.ResultNeedsReview, ""},
		"tentatively-passed": {idv.ResultPending, ""},
		"tentatively-failed": {idv.ResultPending, "submitted"},
	}
	for action, w := range results {
		st := `null`
		wantVendor := action
		if w.vendorStatus != "" {
			st = `"` + w.vendorStatus + `"`
			wantVendor = w.vendorStatus
		}
		got, err := p.Parse(event("verification."+action, at, verificationData("verification/selfie", st), includedInquiry))
		if err != nil {
			t.Errorf("%s: %v", action, err)
			continue
		}
		want := report.Report{
			Event: "verification." + action, VerificationID: "inq_t1", ReferenceID: "ref-1", OccurredAt: ts(at),
			Checks: []report.CheckUpdate{{Check: idv.CheckSelfie, Result: w.result, VendorCheck: "verification/selfie", VendorResult: wantVendor, ID: "ver_t1"}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", action, dump(got), dump(want))
		}
	}
	ignored := map[string]string{
		"created":      "verification has no result yet",
		"submitted":    "verification has no result yet",
		"updated-tags": "verification has no result yet",
		"reopened":     "unknown event",
	}
	for action, reason := range ignored {
		got, err := p.Parse(event("verification."+action, at, verificationData("verification/selfie", `"submitted"`), ""))
		if err != nil {
			t.Errorf("%s: %v", action, err)
			continue
		}
		want := report.Report{Event: "verification." + action, VerificationID: "inq_t1", OccurredAt: ts(at), Ignored: reason}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", action, dump(got), dump(want))
		}
	}
	// Without the inquiry among included[], there is no ReferenceID.
	got, err := p.Parse(event("verification.passed", at, verificationData("verification/selfie", `"passed"`), `[{"type":"inquiry","id":"inq_other","attributes":{"reference-id":"x"}}]`))
	if err != nil || got.ReferenceID != "" || got.VerificationID != "inq_t1" {
		t.Errorf("other inquiry included: %s, %v", dump(got), err)
	}
}

func TestParseReport(t *testing.T) {
	p := newParser(t)
	rel := `"inquiry":{"data":{"type":"inquiry","id":"inq_t1"}}`
	cases := []struct {
		name, event, data string
		want              report.Report
	}{
		{"pep errored", "report/politically-exposed-person.errored", reportData("report/politically-exposed-person", rel), report.Report{
			VerificationID: "inq_t1", ReferenceID: "ref-1",
			Checks: []report.CheckUpdate{{Check: idv.CheckPEP, Result: idv.ResultError, VendorCheck: "report/politically-exposed-person", VendorResult: "errored", ID: "rep_t1"}},
		}},
		{"adverse media matched", "report/adverse-media.matched", reportData("report/adverse-media", rel), report.Report{
			VerificationID: "inq_t1", ReferenceID: "ref-1",
			Checks: []report.CheckUpdate{{Check: idv.CheckAdverseMedia, Result: idv.ResultNeedsReview, VendorCheck: "report/adverse-media", VendorResult: "matched", ID: "rep_t1"}},
		}},
		{"address lookup ready", "report/address-lookup.ready", reportData("report/address-lookup", rel), report.Report{
			VerificationID: "inq_t1", ReferenceID: "ref-1",
			Checks: []report.CheckUpdate{{Check: idv.CheckAddress, Result: idv.ResultCompleted, VendorCheck: "report/address-lookup", VendorResult: "ready", ID: "rep_t1"}},
		}},
		{"other report type", "report/phone-number.ready", reportData("report/phone-number", rel), report.Report{
			VerificationID: "inq_t1", ReferenceID: "ref-1",
			Checks: []report.CheckUpdate{{Check: idv.CheckOther, Result: idv.ResultCompleted, VendorCheck: "report/phone-number", VendorResult: "ready", ID: "rep_t1"}},
		}},
		{"report without inquiry", "report/watchlist.ready", reportData("report/watchlist", `"account":{"data":{"type":"account","id":"act_1"}}`),
			report.Report{Ignored: "report not attached to an inquiry"}},
		{"report with null inquiry", "report/watchlist.matched", reportData("report/watchlist", `"inquiry":{"data":null}`),
			report.Report{Ignored: "report not attached to an inquiry"}},
		{"other action", "report/watchlist.dismissed", reportData("report/watchlist", rel),
			report.Report{VerificationID: "inq_t1", Ignored: "report action carries no result"}},
		{"no action", "report/watchlist", reportData("report/watchlist", rel),
			report.Report{VerificationID: "inq_t1", Ignored: "unknown event"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(event(tc.event, at, tc.data, includedInquiry))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Event, want.OccurredAt = tc.event, ts(at)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

func TestParseIgnoredFamilies(t *testing.T) {
	p := newParser(t)
	cases := []struct {
		name, data, wantID, reason string
	}{
		{"account.created", `{"type":"account","id":"act_1","attributes":{"reference-id":"SENTINEL"}}`, "", "event not tracked"},
		{"case.status-updated", `{"type":"case","id":"case_1","relationships":{"inquiry":{"data":{"type":"inquiry","id":"inq_t1"}}}}`, "inq_t1", "event not tracked"},
		{"document.submitted", `{"type":"document/government-id","id":"doc_1","relationships":{"inquiry":{"data":{"type":"inquiry","id":"inq_t1"}}}}`, "inq_t1", "event not tracked"},
		{"selfie.created", `{"type":"selfie/profile-and-center","id":"self_1"}`, "", "event not tracked"},
		{"transaction.created", `{"type":"transaction","id":"txn_1"}`, "", "event not tracked"},
		{"inquiry-session.expired", `{"type":"inquiry-session","id":"iqse_1","relationships":{"inquiry":{"data":{"type":"inquiry","id":"inq_t1"}}}}`, "inq_t1", "event not tracked"},
		{"inquiry-session.canceled", `{"type":"inquiry-session","id":"iqse_1","relationships":{"inquiry":{"data":{"type":"inquiry","id":"` + strings.Repeat("x", 201) + `"}}}}`, "", "event not tracked"},
		// A wrong-typed value does not turn an ignored event into an error.
		{"case.created", `{"type":"case","id":"case_1","relationships":{"inquiry":{"data":[1,2]}}}`, "", "event not tracked"},
		{"graph.run", `[1]`, "", "unknown event"},
	}
	for _, tc := range cases {
		got, err := p.Parse(event(tc.name, at, tc.data, ""))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := report.Report{Event: tc.name, VerificationID: tc.wantID, OccurredAt: ts(at), Ignored: tc.reason}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, dump(got), dump(want))
		}
	}
}

// sentinel marks a body value that must never appear in an error message.
const sentinel = "SENTINEL"

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat("SENTINEL", 30) // 240 bytes
	verRel := func(id string) string {
		return `{"type":"verification/selfie","id":"ver_t1","relationships":{"inquiry":{"data":{"type":"inquiry","id":"` + id + `"}}}}`
	}
	cases := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"not JSON", []byte(`SENTINEL`)},
		{"truncated", []byte(`{"data":{"attributes":{"name":"SENTINEL`)},
		{"array", []byte(`[{"data":{}}]`)},
		{"string", []byte(`"SENTINEL"`)},
		{"null", []byte(`null`)},
		{"empty object", []byte(`{}`)},
		{"data not an object", []byte(`{"data":"SENTINEL"}`)},
		{"missing name", []byte(`{"data":{"attributes":{"created-at":"` + at + `"}}}`)},
		{"name not a string", []byte(`{"data":{"attributes":{"name":12345,"created-at":"` + at + `"}}}`)},
		{"name with control char", event(`inquiry.approved\u0001SENTINEL`, at, inquiryData(`"approved"`), "")},
		{"created-at not a string", []byte(`{"data":{"attributes":{"name":"inquiry.approved","created-at":1710527700}}}`)},
		{"status event without payload", []byte(`{"data":{"attributes":{"name":"inquiry.approved","created-at":"` + at + `"}}}`)},
		{"status event with other payload", event("inquiry.approved", at, `{"type":"SENTINEL","id":"x"}`, "")},
		{"status event with array payload", event("inquiry.approved", at, `[{"type":"inquiry","id":"SENTINEL"}]`, "")},
		{"missing inquiry id", event("inquiry.approved", at, `{"type":"inquiry","attributes":{"status":"approved","name-first":"SENTINEL"}}`, "")},
		{"inquiry id not a string", event("inquiry.approved", at, `{"type":"inquiry","id":98765,"attributes":{"name-first":"SENTINEL"}}`, "")},
		{"inquiry id too long", event("inquiry.approved", at, `{"type":"inquiry","id":"`+long+`"}`, "")},
		{"inquiry id with control char", event("inquiry.approved", at, `{"type":"inquiry","id":"inq_\u0000SENTINEL"}`, "")},
		{"inquiry id invalid UTF-8", event("inquiry.approved", at, "{\"type\":\"inquiry\",\"id\":\"inq_\xffSENTINEL\"}", "")},
		{"reference-id too long", event("inquiry.approved", at, `{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"`+long+`"}}`, "")},
		{"reference-id with newline", event("inquiry.approved", at, `{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"SENTINEL\n"}}`, "")},
		{"reference-id not a string", event("inquiry.approved", at, `{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":{"SENTINEL":1}}}`, "")},
		{"other inquiry event without id", event("inquiry.transitioned", at, `{"type":"inquiry","attributes":{"status":"pending"}}`, "")},
		{"verification without inquiry relationship", event("verification.passed", at, `{"type":"verification/selfie","id":"ver_t1","attributes":{"status":"passed"}}`, "")},
		{"verification with empty inquiry id", event("verification.passed", at, verRel(""), "")},
		{"verification inquiry id too long", event("verification.passed", at, verRel(long), "")},
		{"verification inquiry id with control char", event("verification.passed", at, verRel(`inq\tSENTINEL`), "")},
		{"verification without id", event("verification.failed", at, `{"type":"verification/selfie","relationships":{"inquiry":{"data":{"id":"inq_t1"}}}}`, "")},
		{"verification with non-verification payload", event("verification.failed", at, `{"type":"SENTINEL","id":"ver_t1","relationships":{"inquiry":{"data":{"id":"inq_t1"}}}}`, "")},
		{"verification type too long", event("verification.failed", at, `{"type":"verification/`+long+`","id":"ver_t1","relationships":{"inquiry":{"data":{"id":"inq_t1"}}}}`, "")},
		{"verification with array relationship", event("verification.failed", at, `{"type":"verification/selfie","id":"ver_t1","relationships":{"inquiry":{"data":["SENTINEL"]}}}`, "")},
		{"verification included reference-id too long", event("verification.passed", at, verRel("inq_t1"), `[{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":"`+long+`"}}]`)},
		{"verification included reference-id not a string", event("verification.passed", at, verRel("inq_t1"), `[{"type":"inquiry","id":"inq_t1","attributes":{"reference-id":["SENTINEL"]}}]`)},
		{"report without id", event("report/watchlist.matched", at, `{"type":"report/watchlist","relationships":{"inquiry":{"data":{"id":"inq_t1"}}}}`, "")},
		{"report with non-report payload", event("report/watchlist.matched", at, `{"type":"SENTINEL","id":"rep_t1","relationships":{"inquiry":{"data":{"id":"inq_t1"}}}}`, "")},
		{"report inquiry id with control char", event("report/watchlist.ready", at, `{"type":"report/watchlist","id":"rep_t1","relationships":{"inquiry":{"data":{"id":"\u001bSENTINEL"}}}}`, "")},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(tc.body)
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
	for _, b := range [][]byte{
		event("inquiry.transitioned", at, inquiryData(`"on_hold"`), ""),
		event("verification.escalated", at, verificationData("verification/aamva", `null`), includedInquiry),
		event("report/adverse-media.errored", at, reportData("report/adverse-media", `"inquiry":{"data":{"id":"inq_t1"}}`), includedInquiry),
		event("case.created", at, `[1]`, ""),
		[]byte(`{"data":{"attributes":{"name":"inquiry.approved","created-at":"` + at + `","payload":{"data":{"type":"inquiry","id":"\ud800"}}}}}`),
		[]byte(`[]`), []byte(`{`), []byte(`null`),
	} {
		f.Add(b)
	}
	p := newParser(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error message too long: %q", err)
			}
			return
		}
		checkReport(t, r)
	})
}

func checkReport(t *testing.T, r report.Report) {
	t.Helper()
	if !report.ValidID(r.Event) {
		t.Fatalf("invalid Event %q", r.Event)
	}
	if !r.OccurredAt.IsZero() && r.OccurredAt.Location() != time.UTC {
		t.Fatalf("OccurredAt %v not a UTC time", r.OccurredAt)
	}
	if r.VerificationID != "" && !report.ValidID(r.VerificationID) {
		t.Fatalf("invalid VerificationID %q", r.VerificationID)
	}
	if r.ReferenceID != "" && !report.ValidID(r.ReferenceID) {
		t.Fatalf("invalid ReferenceID %q", r.ReferenceID)
	}
	for _, u := range r.Unmapped {
		if u == unmappedCreatedAt {
			continue
		}
		if v, ok := strings.CutPrefix(u, "status="); !ok || v != "<unrecognized>" && !isToken(v) {
			t.Fatalf("Unmapped repeats free text: %q", u)
		}
	}
	if r.Ignored != "" {
		if r.Status != nil || len(r.Checks) > 0 {
			t.Fatalf("ignored report with a status or checks: %+v", r)
		}
		return
	}
	if !report.ValidID(r.VerificationID) {
		t.Fatalf("report without a valid VerificationID: %+v", r)
	}
	if r.Status == nil && len(r.Checks) == 0 {
		t.Fatalf("report says nothing: %+v", r)
	}
	if s := r.Status; s != nil {
		if !s.Status.Valid() || s.DecidedBy != idv.DecidedByVendor || !isToken(s.VendorStatus) {
			t.Fatalf("bad status %+v", *s)
		}
	}
	for _, c := range r.Checks {
		if !c.Check.Valid() || !c.Result.Valid() || !report.ValidID(c.ID) || !report.ValidID(c.VendorCheck) {
			t.Fatalf("bad check %+v", c)
		}
		if !isToken(c.VendorResult) {
			t.Fatalf("VendorResult repeats free text: %q", c.VendorResult)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	p := newParser(b)
	for _, name := range []string{"inquiry.approved.json", "verification.passed.json", "report-watchlist.matched.json", "unknown.json"} {
		// Persona sends compact JSON; the fixtures are indented for reading.
		var buf bytes.Buffer
		if err := json.Compact(&buf, readFixture(b, name)); err != nil {
			b.Fatal(err)
		}
		body := buf.Bytes()
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

// TestParseWithoutEventTime: created-at is optional. A Persona event without
// a usable one is applied, not dead-lettered: OccurredAt stays zero (the
// normalizer uses the received time) and an unreadable value is reported as
// unmapped by field name, never by value.
func TestParseWithoutEventTime(t *testing.T) {
	approved := `{"type":"inquiry","id":"inq_t1","attributes":{"status":"approved"}}`
	wantStatus := &report.StatusUpdate{Status: idv.StatusApproved, VendorStatus: "approved", DecidedBy: idv.DecidedByVendor}
	cases := []struct {
		name     string
		body     string
		unmapped []string
	}{
		{"missing", `{"data":{"attributes":{"name":"inquiry.approved","payload":{"data":` + approved + `}}}}`, nil},
		{"null", `{"data":{"attributes":{"name":"inquiry.approved","created-at":null,"payload":{"data":` + approved + `}}}}`, nil},
		{"empty", `{"data":{"attributes":{"name":"inquiry.approved","created-at":"","payload":{"data":` + approved + `}}}}`, nil},
		{"not a time", string(event("inquiry.approved", "SENTINEL-03-15", approved, "")), []string{"data.attributes.created-at=not an RFC 3339 time"}},
		{"without zone", string(event("inquiry.approved", "2024-03-15T18:35:00", approved, "")), []string{"data.attributes.created-at=not an RFC 3339 time"}},
		{"a number", `{"data":{"attributes":{"name":"inquiry.approved","created-at":1710527700,"payload":{"data":` + approved + `}}}}`, []string{"data.attributes.created-at=not an RFC 3339 time"}},
	}
	p := newParser(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("dead-lettered for an optional field: %v", err)
			}
			want := report.Report{Event: "inquiry.approved", VerificationID: "inq_t1", Status: wantStatus, Unmapped: tc.unmapped}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
