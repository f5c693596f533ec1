package samples

import (
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
)

// TestEverySampleParsesAsItSays: every sample, rendered with fresh values,
// is read by its vendor's parser as the verification, reference, event and
// status or check the catalog promises.
func TestEverySampleParsesAsItSays(t *testing.T) {
	now := time.Now()
	for _, s := range All() {
		t.Run(s.Vendor+"/"+s.Name, func(t *testing.T) {
			p, err := vendors.NewParser(s.Vendor, report.Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := Values{EventID: NewEventID(s.Vendor), VerificationID: NewVerificationID(s.Vendor), Now: now}
			v.Reference = DefaultReference(v.VerificationID)
			body, err := s.Render(v)
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Parse(body)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, body)
			}
			if r.Ignored != "" || len(r.Unmapped) > 0 {
				t.Fatalf("ignored %q, unmapped %v", r.Ignored, r.Unmapped)
			}
			if r.VerificationID != v.VerificationID {
				t.Errorf("verification %q, want %q", r.VerificationID, v.VerificationID)
			}
			if HasReference(s.Vendor) && r.ReferenceID != v.Reference {
				t.Errorf("reference %q, want %q", r.ReferenceID, v.Reference)
			}
			if r.Event != s.Event {
				t.Errorf("event %q, want %q", r.Event, s.Event)
			}
			var got Want
			if r.Status != nil {
				got.Status = r.Status.Status
			}
			if len(r.Checks) > 0 {
				got.Check, got.Result = r.Checks[0].Check, r.Checks[0].Result
			}
			if got != s.Want {
				t.Errorf("parsed as %q, want %q", got, s.Want)
			}
			if vd, _ := vendors.Lookup(s.Vendor); HasEventID(s.Vendor) && s.Vendor != "credas" {
				if id, ok := vd.EventID(body); !ok || id != v.EventID {
					t.Errorf("vendor event id %q %v, want %q", id, ok, v.EventID)
				}
			}
			if s.Vendor == "credas" && !strings.Contains(r.Key, v.EventID) {
				t.Errorf("credas key %q does not carry the result id", r.Key)
			}
		})
	}
}

// TestIDsAreEscaped: any user-given id renders valid JSON that parses back
// to the same id.
func TestIDsAreEscaped(t *testing.T) {
	s, ok := Lookup("persona", "inquiry.approved")
	if !ok {
		t.Fatal("no inquiry.approved")
	}
	v := Values{EventID: `evt_"x`, VerificationID: `inq_\"q"`, Reference: "ref\n1", Now: time.Now()}
	body, err := s.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := vendors.NewParser("persona", report.Options{})
	if _, err := p.Parse(body); err == nil {
		t.Fatal("a reference with a control character parsed; want the parser to refuse it")
	}
	v.Reference = `ref "1"`
	body, _ = s.Render(v)
	r, err := p.Parse(body)
	if err != nil || r.VerificationID != v.VerificationID || r.ReferenceID != v.Reference {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestLookupFoldsNames(t *testing.T) {
	for _, c := range []struct{ vendor, name, want string }{
		{"idwise", "Finished Journey", "finished-journey"},
		{"idwise", "finished_journey_refer", "finished-journey-refer"},
		{"credas", "credas:name_check", "name_check"},
		{"credas", "Name-Check", "name_check"},
		{"incode", "onboarding_finished", "ONBOARDING_FINISHED"},
		{"persona", "report/watchlist.matched", "report/watchlist.matched"},
	} {
		s, ok := Lookup(c.vendor, c.name)
		if !ok || s.Name != c.want {
			t.Errorf("Lookup(%s, %q) = %q %v, want %q", c.vendor, c.name, s.Name, ok, c.want)
		}
	}
	if _, ok := Lookup("persona", "inquiry.nope"); ok {
		t.Error("found an unknown event")
	}
	seen := map[string]bool{}
	for _, s := range All() {
		k := s.Vendor + " " + fold(s.Name)
		if seen[k] {
			t.Errorf("two samples fold to %q", k)
		}
		seen[k] = true
	}
}

func TestFreshIDsDiffer(t *testing.T) {
	for _, v := range Vendors() {
		if NewVerificationID(v) == NewVerificationID(v) { //nolint:staticcheck // two calls that must differ
			t.Errorf("%s: the same verification id twice", v)
		}
		if HasEventID(v) && NewEventID(v) == NewEventID(v) { //nolint:staticcheck // two calls that must differ
			t.Errorf("%s: the same event id twice", v)
		}
	}
}
