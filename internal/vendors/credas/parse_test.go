package credas_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/vendors/credas"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

const (
	entity = "11111111-1111-4111-8111-111111111111"
	rid    = "33333333-3333-4333-8333-0000000000"
)

func newParser(t testing.TB, opts report.Options) report.Parser {
	t.Helper()
	p, err := credas.Vendor{}.NewParser(opts)
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

// check builds the CheckUpdate of result field field of an update type.
func check(c idv.Check, r idv.Result, utName, resultID, field, value string) report.CheckUpdate {
	return report.CheckUpdate{Check: c, Result: r, VendorCheck: field, VendorResult: value,
		ID: utName + "/" + resultID + "/" + field}
}

func TestParseFixtures(t *testing.T) {
	cases := []struct {
		file string
		want report.Report
	}{
		{"01_name_check.json", report.Report{
			Event: "credas:name_check", VerificationID: entity,
			Key: "1:" + entity + ":" + rid + "01:NameCheckVerificationResult=3",
			Checks: []report.CheckUpdate{
				check(idv.CheckNameCheck, idv.ResultNeedsReview, "name_check", rid+"01", "NameCheckVerificationResult", "3"),
			},
		}},
		{"02_share_code.json", report.Report{
			Event: "credas:share_code", VerificationID: entity,
			Key: "2:" + entity + ":" + rid + "02:ShareCodeVerificationResult=4",
			Checks: []report.CheckUpdate{
				check(idv.CheckShareCode, idv.ResultPassed, "share_code", rid+"02", "ShareCodeVerificationResult", "4"),
			},
		}},
		{"03_liveness.json", report.Report{
			Event: "credas:liveness", VerificationID: entity,
			Key: "3:" + entity + ":" + rid + "03:LivenessVerificationResult=4",
			Checks: []report.CheckUpdate{
				check(idv.CheckLiveness, idv.ResultPassed, "liveness", rid+"03", "LivenessVerificationResult", "4"),
			},
		}},
		{"04_id_document.json", report.Report{
			Event: "credas:id_document", VerificationID: entity,
			Key: "4:" + entity + ":" + rid + "04:BackScanVerificationResult=4,FacialMatchVerificationResult=5," +
				"NameCheckVerificationResult=4,NfcCheckVerificationResult=0,VerificationResult=5,VisualAnalysisVerificationResult=4",
			Checks: []report.CheckUpdate{
				check(idv.CheckDocument, idv.ResultPassed, "id_document", rid+"04", "BackScanVerificationResult", "4"),
				check(idv.CheckFaceMatch, idv.ResultFailed, "id_document", rid+"04", "FacialMatchVerificationResult", "5"),
				check(idv.CheckNameCheck, idv.ResultPassed, "id_document", rid+"04", "NameCheckVerificationResult", "4"),
				check(idv.CheckDocument, idv.ResultNotPerformed, "id_document", rid+"04", "NfcCheckVerificationResult", "0"),
				check(idv.CheckDocument, idv.ResultFailed, "id_document", rid+"04", "VerificationResult", "5"),
				check(idv.CheckDocument, idv.ResultPassed, "id_document", rid+"04", "VisualAnalysisVerificationResult", "4"),
			},
		}},
		{"05_supporting_document.json", report.Report{
			Event: "credas:supporting_document", VerificationID: entity,
			Key: "5:" + entity + ":" + rid + "05:Status=4",
			Checks: []report.CheckUpdate{
				check(idv.CheckSupportingDocument, idv.ResultPassed, "supporting_document", rid+"05", "Status", "4"),
			},
		}},
		{"06_datacheck.json", report.Report{
			Event: "credas:datacheck", VerificationID: entity,
			Key: "6:" + entity + ":" + rid + "06:Status=3",
			Checks: []report.CheckUpdate{
				check(idv.CheckDatabase, idv.ResultNeedsReview, "datacheck", rid+"06", "Status", "3"),
			},
		}},
		{"07_right_to_rent.json", report.Report{
			Event: "credas:right_to_rent", VerificationID: entity,
			Key: "7:" + entity + ":" + rid + "07:Status=4",
			Checks: []report.CheckUpdate{
				check(idv.CheckRightToRent, idv.ResultPassed, "right_to_rent", rid+"07", "Status", "4"),
			},
		}},
		{"08_right_to_work.json", report.Report{
			Event: "credas:right_to_work", VerificationID: entity,
			Key: "8:" + entity + ":" + rid + "08:Status=6",
			Checks: []report.CheckUpdate{
				check(idv.CheckRightToWork, idv.ResultNeedsReview, "right_to_work", rid+"08", "Status", "6"),
			},
		}},
		{"09_safe_harbour.json", report.Report{
			Event: "credas:safe_harbour", VerificationID: entity,
			Key: "9:" + entity + ":" + rid + "09:OverallResult=4,Status=3",
			Checks: []report.CheckUpdate{
				check(idv.CheckSafeHarbour, idv.ResultPassed, "safe_harbour", rid+"09", "OverallResult", "4"),
				check(idv.CheckSafeHarbour, idv.ResultNeedsReview, "safe_harbour", rid+"09", "Status", "3"),
			},
		}},
		{"name_check_unknown_value.json", report.Report{
			Event: "credas:name_check", VerificationID: entity,
			Key: "1:" + entity + ":" + rid + "10:NameCheckVerificationResult=9",
			Checks: []report.CheckUpdate{
				check(idv.CheckNameCheck, idv.ResultCompleted, "name_check", rid+"10", "NameCheckVerificationResult", "9"),
			},
			Unmapped: []string{"NameCheckVerificationResult=9"},
		}},
		{"unknown_update_type.json", report.Report{
			Event: "credas:12", VerificationID: entity, Ignored: "unknown UpdateType",
		}},
		{"liveness_lowercase_object.json", report.Report{
			Event: "credas:liveness", VerificationID: entity,
			Key: "3:" + entity + ":" + rid + "11:livenessVerificationResult=5",
			Checks: []report.CheckUpdate{
				check(idv.CheckLiveness, idv.ResultFailed, "liveness", rid+"11", "livenessVerificationResult", "5"),
			},
		}},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(cases) {
		t.Errorf("%d fixtures in testdata, %d tested", len(files), len(cases))
	}
	p := newParser(t, report.Options{})
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := p.Parse(fixture(t, tc.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseInline(t *testing.T) {
	cases := []struct {
		name, body string
		want       report.Report
	}{
		{
			name: "no result field: the update type's check, completed",
			body: `{"UpdateType":3,"Payload":"{\"EntityId\":\"e-1\",\"ClientId\":\"c-1\",\"EntityIdvEntryLivenessId\":\"l-1\"}"}`,
			want: report.Report{Event: "credas:liveness", VerificationID: "e-1", Key: "3:e-1:l-1:",
				Checks: []report.CheckUpdate{{Check: idv.CheckLiveness, Result: idv.ResultCompleted,
					VendorCheck: "liveness", ID: "liveness/l-1"}}},
		},
		{
			name: "no result id, upper-case envelope keys",
			body: `{"UPDATETYPE":8,"PAYLOAD":"{\"EntityId\":\"e-1\",\"ClientId\":\"c-1\",\"Result\":1}"}`,
			want: report.Report{Event: "credas:right_to_work", VerificationID: "e-1", Key: "8:e-1:-:Result=1",
				Checks: []report.CheckUpdate{{Check: idv.CheckRightToWork, Result: idv.ResultPassed,
					VendorCheck: "Result", VendorResult: "1", ID: "right_to_work/-/Result"}}},
		},
		{
			name: "non-integer result values are unmapped, null and unknown fields ignored",
			body: `{"UpdateType":6,"Payload":"{\"EntityId\":\"e-1\",\"Status\":\"Pass\",\"Result\":1.5,\"OverallResult\":null,\"Extra\":{\"a\":[1]},\"DataCheckVerificationResult\":2}"}`,
			want: report.Report{Event: "credas:datacheck", VerificationID: "e-1", Key: "6:e-1:-:DataCheckVerificationResult=2",
				Checks: []report.CheckUpdate{{Check: idv.CheckDatabase, Result: idv.ResultFailed,
					VendorCheck: "DataCheckVerificationResult", VendorResult: "2", ID: "datacheck/-/DataCheckVerificationResult"}},
				Unmapped: []string{"Result=<unrecognized>", "Status=<unrecognized>"}},
		},
		{
			name: "escaped payload string with whitespace, result id that is not a string skipped",
			body: "{\"UpdateType\":2,\"Payload\":\" {\\\"AId\\\":7,\\\"BId\\\":\\\"b\\\\u002d1\\\",\\\"EntityId\\\":\\\"e\\\\u002d1\\\",\\\"Status\\\":-0}\"}",
			want: report.Report{Event: "credas:share_code", VerificationID: "e-1", Key: "2:e-1:b-1:Status=0",
				Checks: []report.CheckUpdate{{Check: idv.CheckShareCode, Result: idv.ResultNotPerformed,
					VendorCheck: "Status", VendorResult: "0", ID: "share_code/b-1/Status"}}},
		},
		{
			name: "unknown update type needs no EntityId",
			body: `{"UpdateType":0,"Payload":"{}"}`,
			want: report.Report{Event: "credas:0", Ignored: "unknown UpdateType"},
		},
		{
			name: "negative update type",
			body: `{"UpdateType":-3,"Payload":{"EntityId":"bad\u0001"}}`,
			want: report.Report{Event: "credas:-3", Ignored: "unknown UpdateType"},
		},
	}
	p := newParser(t, report.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestKeyStable: the same result re-sent re-serialized (other field order,
// whitespace, Payload as an object) has the same Key; a changed value a new one.
func TestKeyStable(t *testing.T) {
	p := newParser(t, report.Options{})
	key := func(body string) string {
		t.Helper()
		r, err := p.Parse([]byte(body))
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		return r.Key
	}
	a := key(`{"UpdateType":1,"Payload":"{\"DocId\":\"d\",\"NameCheckVerificationResult\":3,\"EntityId\":\"e\",\"ClientId\":\"c\"}"}`)
	b := key(`{ "Payload" : "{ \"ClientId\": \"c\", \"EntityId\": \"e\", \"NameCheckVerificationResult\": 3, \"DocId\": \"d\" }", "UpdateType" : 1 }`)
	c := key(`{"UpdateType":1,"Payload":{"EntityId":"e","DocId":"d","NameCheckVerificationResult":3}}`)
	d := key(`{"UpdateType":1,"Payload":"{\"DocId\":\"d\",\"NameCheckVerificationResult\":4,\"EntityId\":\"e\",\"ClientId\":\"c\"}"}`)
	if a != b || a != c {
		t.Errorf("re-serialized keys differ: %q %q %q", a, b, c)
	}
	if a == d {
		t.Errorf("changed value kept key %q", a)
	}

	// Many result fields: the list is hashed, and still tells values apart.
	many := func(last int) string {
		var b strings.Builder
		b.WriteString(`{"UpdateType":4,"Payload":{"EntityId":"e","DocId":"d"`)
		for i := range 100 {
			fmt.Fprintf(&b, `,"Part%03dVerificationResult":%d`, i, 4)
		}
		fmt.Fprintf(&b, `,"ZVerificationResult":%d}}`, last)
		return key(b.String())
	}
	h1, h2, h3 := many(4), many(4), many(5)
	if !strings.HasPrefix(h1, "4:e:d:sha256:") || len(h1) > 512 {
		t.Errorf("long key = %q, want 4:e:d:sha256:<hex>", h1)
	}
	if h1 != h2 || h1 == h3 {
		t.Errorf("hashed keys: same body %q / %q, changed value %q", h1, h2, h3)
	}
}

const secret = "S3CR3T"

func TestParseInvalid(t *testing.T) {
	long := secret + strings.Repeat("x", report.MaxIDLen)
	cases := []struct{ name, body string }{
		{"not JSON", `S3CR3T`},
		{"truncated", `{"UpdateType":1,"Payload":"{\"EntityId\":\"S3CR3T\"}"`},
		{"array", `["S3CR3T"]`},
		{"string", `"S3CR3T"`},
		{"null", `null`},
		{"UpdateType string", `{"UpdateType":"S3CR3T","Payload":"{\"EntityId\":\"e\"}"}`},
		{"UpdateType quoted number", `{"UpdateType":"1","Payload":"{\"EntityId\":\"S3CR3T\"}"}`},
		{"UpdateType fraction", `{"UpdateType":1.5,"Payload":"{\"EntityId\":\"S3CR3T\"}"}`},
		{"UpdateType huge", `{"UpdateType":12345678901234567890,"Payload":"{\"EntityId\":\"S3CR3T\"}"}`},
		{"no Payload", `{"UpdateType":1,"EntityId":"S3CR3T"}`},
		{"Payload null", `{"UpdateType":1,"Payload":null}`},
		{"Payload number", `{"UpdateType":1,"Payload":7}`},
		{"Payload array", `{"UpdateType":1,"Payload":["S3CR3T"]}`},
		{"Payload string not JSON", `{"UpdateType":1,"Payload":"S3CR3T"}`},
		{"Payload string truncated", `{"UpdateType":1,"Payload":"{\"EntityId\":\"S3CR3T\""}`},
		{"Payload string holds an array", `{"UpdateType":1,"Payload":"[\"S3CR3T\"]"}`},
		{"Payload string holds null", `{"UpdateType":1,"Payload":"null"}`},
		{"Payload string holds a string", `{"UpdateType":1,"Payload":"\"{\\\"EntityId\\\":\\\"S3CR3T\\\"}\""}`},
		{"Payload string with trailing data", `{"UpdateType":1,"Payload":"{\"EntityId\":\"e\"} S3CR3T"}`},
		{"missing EntityId", `{"UpdateType":1,"Payload":"{\"ClientId\":\"S3CR3T\",\"NameCheckVerificationResult\":3}"}`},
		{"EntityId null", `{"UpdateType":1,"Payload":"{\"EntityId\":null,\"ClientId\":\"S3CR3T\"}"}`},
		{"EntityId empty", `{"UpdateType":1,"Payload":"{\"EntityId\":\"\",\"ClientId\":\"S3CR3T\"}"}`},
		{"EntityId number", `{"UpdateType":1,"Payload":"{\"EntityId\":12345,\"ClientId\":\"S3CR3T\"}"}`},
		{"EntityId too long", `{"UpdateType":1,"Payload":"{\"EntityId\":\"` + long + `\"}"}`},
		{"EntityId control char", `{"UpdateType":1,"Payload":"{\"EntityId\":\"S3CR3T\\u0007\"}"}`},
		{"EntityId invalid UTF-8", "{\"UpdateType\":1,\"Payload\":{\"EntityId\":\"S3CR3T\xff\"}}"},
	}
	p := newParser(t, report.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.Parse([]byte(tc.body))
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want ErrInvalid", r, err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "xxxx") {
				t.Errorf("error %q quotes the body", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	rtw := []byte(`{"UpdateType":8,"Payload":"{\"EntityId\":\"e\",\"Status\":4}"}`)
	rtr := []byte(`{"UpdateType":7,"Payload":"{\"EntityId\":\"e\",\"Status\":4,\"Result\":9}"}`)
	results := func(t *testing.T, p report.Parser, body []byte) []idv.Result {
		t.Helper()
		r, err := p.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		var out []idv.Result
		for _, c := range r.Checks {
			out = append(out, c.Result)
		}
		return out
	}

	def := newParser(t, report.Options{})
	if got := results(t, def, rtw); !reflect.DeepEqual(got, []idv.Result{idv.ResultPassed}) {
		t.Fatalf("default table: right_to_work 4 = %v", got)
	}
	p := newParser(t, report.Options{Results: map[string]map[string]idv.Result{
		"right_to_work": {"4": idv.ResultFailed},
		"default":       {"9": idv.ResultError, "4": idv.ResultNeedsReview},
	}})
	if got := results(t, p, rtw); !reflect.DeepEqual(got, []idv.Result{idv.ResultFailed}) {
		t.Errorf("check override: right_to_work 4 = %v, want failed", got)
	}
	// right_to_rent has no override of its own: "default" applies; Result
	// sorts before Status.
	if got := results(t, p, rtr); !reflect.DeepEqual(got, []idv.Result{idv.ResultError, idv.ResultNeedsReview}) {
		t.Errorf("default override: right_to_rent Result 9, Status 4 = %v, want error, needs_review", got)
	}
	// The default table is not changed by a parser's overrides.
	if got := results(t, def, rtw); !reflect.DeepEqual(got, []idv.Result{idv.ResultPassed}) {
		t.Errorf("after override, default parser: right_to_work 4 = %v", got)
	}
	if got := credas.DefaultResults()["4"]; got != idv.ResultPassed {
		t.Errorf(`DefaultResults()["4"] = %q`, got)
	}

	bad := []struct {
		name, want string
		results    map[string]map[string]idv.Result
	}{
		{"unknown check", "selfies", map[string]map[string]idv.Result{"selfies": {"1": idv.ResultPassed}}},
		{"non-integer key", "pass", map[string]map[string]idv.Result{"default": {"pass": idv.ResultPassed}}},
		{"fraction key", "1.0", map[string]map[string]idv.Result{"liveness": {"1.0": idv.ResultPassed}}},
		{"padded key", "04", map[string]map[string]idv.Result{"liveness": {"04": idv.ResultPassed}}},
		{"unknown result", "approved", map[string]map[string]idv.Result{"right_to_work": {"4": "approved"}}},
		{"empty result", "right_to_work.4", map[string]map[string]idv.Result{"right_to_work": {"4": ""}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := credas.Vendor{}.NewParser(report.Options{Results: tc.results})
			if !errors.Is(err, report.ErrOptions) {
				t.Fatalf("NewParser err = %v, want ErrOptions", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// FuzzParse: Parse never panics; an error wraps ErrInvalid; a report that
// is not ignored has a valid verification id, unified checks and results.
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
		`{"UpdateType":1,"Payload":"{}"}`,
		`{"UpdateType":1,"Payload":{"EntityId":"e","Status":1e3}}`,
		`{"updatetype":9,"payload":"{\"EntityId\":\"e\",\"a_id\":\"x\",\"VERIFICATIONRESULT\":-7}"}`,
		`{"UpdateType":1,"Payload":"\"\\\"{}\\\"\""}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	p := newParser(f, report.Options{Results: map[string]map[string]idv.Result{"document": {"-7": idv.ResultError}}})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, report.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if r.Event == "" {
			t.Fatal("no Event")
		}
		if r.Ignored != "" {
			return
		}
		if !report.ValidID(r.VerificationID) {
			t.Fatalf("invalid VerificationID %q", r.VerificationID)
		}
		if r.Status != nil || len(r.Checks) == 0 || r.Key == "" {
			t.Fatalf("want checks and a key, no status: %+v", r)
		}
		for _, c := range r.Checks {
			if !c.Check.Valid() || !c.Result.Valid() || c.VendorCheck == "" || c.ID == "" {
				t.Fatalf("bad check %+v", c)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"01_name_check.json", "04_id_document.json"} {
		body := fixture(b, name)
		p := newParser(b, report.Options{})
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

// TestParseOtherWebhooks: Credas webhooks that are not result status updates
// (the documented process actor webhook, the process webhook an integrator
// receives, unknown shapes) are ignored, never dead-lettered.
func TestParseOtherWebhooks(t *testing.T) {
	cases := []struct {
		name, body string
		want       report.Report
	}{
		{"process actor", `{"clientId":"c1","processId":"p1","processActorId":11014,"entityId":"e1","smsStatus":2,"smsStatusDescription":"Delivered","emailStatus":2,"emailStatusDescription":"Delivered"}`,
			report.Report{Event: "credas:process_actor", VerificationID: "e1", Ignored: "process actor webhook: invite delivery, not tracked"}},
		{"process", `{"ProcessId":"p1","ClientId":"c1","Status":3,"StatusDescription":"S3CR3T"}`,
			report.Report{Event: "credas:process", Ignored: "process webhook: not tracked"}},
		{"unknown shape", `{"Payload":"{\"EntityId\":\"S3CR3T\"}"}`,
			report.Report{Event: "credas:unknown", Ignored: "not a result status update"}},
		{"empty object", `{}`, report.Report{Event: "credas:unknown", Ignored: "not a result status update"}},
	}
	p, err := credas.Vendor{}.NewParser(report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("dead-lettered: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
