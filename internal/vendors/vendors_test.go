package vendors_test

import (
	"testing"

	"github.com/idvbus/idvbus/internal/vendors"
)

func TestEventID(t *testing.T) {
	cases := []struct {
		vendor, body, want string
		ok                 bool
	}{
		{"persona", `{"data":{"type":"event","id":"evt_123","attributes":{"name":"inquiry.approved"}}}`, "evt_123", true},
		{"persona", `{"data":{"type":"event","attributes":{}}}`, "", false},
		{"persona", `{"data":{"id":null}}`, "", false},
		{"persona", `{"data":{"id":{"x":1}}}`, "", false},
		{"persona", `not json`, "", false},
		{"idwise", `{"event":"Finished Journey","body":{"eventId":"e-77","journeyId":"j1"}}`, "e-77", true},
		{"idwise", `{"event":"Finished Journey","body":{"eventId":12345}}`, "12345", true},
		{"idwise", `{"event":"Finished Journey","body":{"eventId":""}}`, "", false},
		// Sumsub: applicantId, type and createdAtMs, as Sumsub's own sample
		// deduplicates; two webhooks of one request share a correlationId.
		{"sumsub", `{"applicantId":"a1","correlationId":"feb6","type":"applicantPending","createdAtMs":"2024-09-23 23:10:24.704"}`, "a1:applicantPending:2024-09-23T23:10:24.704", true},
		{"sumsub", `{"applicantId":"a1","correlationId":"feb6","type":"applicantPersonalInfoChanged","createdAtMs":"2024-09-23 23:10:24.763"}`, "a1:applicantPersonalInfoChanged:2024-09-23T23:10:24.763", true},
		{"sumsub", `{"applicantId":"a1","correlationId":"req-a260","type":"applicantReviewed"}`, "", false},
		{"sumsub", `{"applicantId":"a:1","type":"applicantReviewed","createdAtMs":"2020-02-21 13:23:19.321"}`, "", false},
		{"sumsub", `{"applicantId":null,"type":"applicantReviewed","createdAtMs":"2020-02-21 13:23:19.321"}`, "", false},
		{"stripe", `{"id":"evt_1Nx","type":"identity.verification_session.verified"}`, "evt_1Nx", true},
		{"stripe", `[1,2]`, "", false},
		{"incode", `{"interviewId":"i1","onboardingStatus":"ONBOARDING_FINISHED"}`, "", false},
		{"credas", `{"UpdateType":1,"Payload":"{}"}`, "", false},
	}
	for _, tc := range cases {
		v, ok := vendors.Lookup(tc.vendor)
		if !ok {
			t.Fatalf("vendor %q not registered", tc.vendor)
		}
		got, ok := v.EventID([]byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s.EventID(%s) = %q, %v; want %q, %v", tc.vendor, tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"credas", "idwise", "incode", "persona", "stripe", "sumsub"}
	got := vendors.Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
	}
	if _, ok := vendors.Lookup("acme"); ok {
		t.Error("Lookup found an unregistered vendor")
	}
}

// FuzzEventID: no vendor's EventID panics or returns an empty id with ok.
func FuzzEventID(f *testing.F) {
	for _, s := range []string{`{"data":{"id":"evt_1"}}`, `{"body":{"eventId":"x"}}`, `{"id":1}`, `{"correlationId":"c"}`, `{`, `null`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range vendors.Names() {
			v, _ := vendors.Lookup(name)
			if id, ok := v.EventID(body); ok && id == "" {
				t.Fatalf("%s: ok with an empty id", name)
			}
		}
	})
}
