package idv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/sdk/idv"
)

var (
	at   = time.Date(2026, 3, 15, 18, 35, 1, 100_000_000, time.UTC)
	meta = idv.Meta{ID: "0f3c", Source: "persona", Vendor: "persona", Subject: "inq_1", Time: at}
	upd  = idv.VerificationUpdated{
		VerificationID: "inq_1", Vendor: "persona", Source: "persona", ReferenceID: "user-42",
		Status: idv.StatusApproved, PreviousStatus: idv.StatusNeedsReview, Terminal: true,
		DecidedBy: idv.DecidedByVendor, Revision: 3, VendorEvent: "inquiry.approved", VendorStatus: "approved",
		OccurredAt: at, ReceivedAt: at.Add(time.Second), Raw: idv.RawRef{Stream: "IDV_RAW", Seq: 7},
	}
)

// TestToNATSMatchesSDKWriter: our binary encoder writes exactly the headers
// and body sdk-go's NATS binding writes (plus Nats-Msg-Id), so consumers
// built on any CloudEvents SDK read our events.
func TestToNATSMatchesSDKWriter(t *testing.T) {
	e, err := idv.NewVerificationUpdated(meta, upd)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	want, err := cejs.WriteMsg(context.Background(), binding.ToMessage(&e), &buf)
	if err != nil {
		t.Fatal(err)
	}
	want.Set(idv.NATSMsgIDHeader, e.ID())
	got, err := idv.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Header, want) || !bytes.Equal(got.Data, buf.Bytes()) {
		t.Fatalf("ToNATS:\n%v\n%s\nsdk-go:\n%v\n%s", got.Header, got.Data, want, buf.Bytes())
	}
	data, _ := json.Marshal(upd)
	fast, err := idv.EncodeNATS(idv.TypeVerificationUpdated, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast.Header, want) || !bytes.Equal(fast.Data, buf.Bytes()) {
		t.Fatalf("EncodeNATS:\n%v\nsdk-go:\n%v", fast.Header, want)
	}
	if _, err := idv.EncodeNATS(idv.TypeVerificationUpdated, idv.Meta{}, data); err == nil {
		t.Fatal("EncodeNATS accepted an event without id and source")
	}
}

func TestRoundTrip(t *testing.T) {
	e, err := idv.NewVerificationUpdated(meta, upd)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idv.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != "0f3c" || back.Source() != "/sources/persona" || back.Type() != idv.TypeVerificationUpdated ||
		back.Subject() != "inq_1" || !back.Time().Equal(at) || back.Extensions()[idv.ExtensionVendor] != "persona" ||
		back.DataSchema() != idv.SchemaURL(idv.TypeVerificationUpdated) {
		t.Fatalf("read back %s", back)
	}
	d, err := idv.DecodeVerificationUpdated(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, upd) {
		t.Fatalf("data %+v, want %+v", d, upd)
	}
	if _, err := idv.DecodeCheckCompleted(back); !errors.Is(err, idv.ErrWrongType) {
		t.Fatalf("decoding as the wrong type: %v", err)
	}
	// Structured mode (a JSON event body, no ce- headers) reads too.
	js, _ := json.Marshal(e)
	st, err := idv.FromNATS(nats.Header{"content-type": []string{cloudevents.ApplicationCloudEventsJSON}}, js)
	if err != nil || st.ID() != e.ID() {
		t.Fatalf("structured: %v %v", st, err)
	}
	if _, err := idv.FromNATS(nats.Header{}, []byte("not an event")); !errors.Is(err, idv.ErrNotCloudEvent) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestCheckCompletedEvent(t *testing.T) {
	c := idv.CheckCompleted{VerificationID: "inq_1", Vendor: "persona", Source: "persona", Check: idv.CheckSelfie,
		Result: idv.ResultPassed, VendorCheck: "verification/selfie", OccurredAt: at, ReceivedAt: at, Raw: idv.RawRef{Stream: "IDV_RAW", Seq: 1}}
	e, err := idv.NewCheckCompleted(meta, c)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idv.ToNATS(e)
	back, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := idv.DecodeCheckCompleted(back); err != nil || !reflect.DeepEqual(d, c) {
		t.Fatalf("%+v %v", d, err)
	}
	if _, err := idv.NewCheckCompleted(idv.Meta{}, c); err == nil {
		t.Fatal("an event without id was built")
	}
}

func TestStatusVocabulary(t *testing.T) {
	for _, s := range idv.Statuses {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	terminal := map[idv.Status]bool{idv.StatusApproved: true, idv.StatusDeclined: true, idv.StatusExpired: true, idv.StatusAbandoned: true}
	decision := map[idv.Status]bool{idv.StatusApproved: true, idv.StatusDeclined: true, idv.StatusNeedsReview: true}
	for _, s := range idv.Statuses {
		if s.Terminal() != terminal[s] || s.Decision() != decision[s] {
			t.Errorf("%s: terminal %v decision %v", s, s.Terminal(), s.Decision())
		}
	}
	// The contract's rank (rule 4).
	order := [][]idv.Status{
		{idv.StatusCreated}, {idv.StatusInProgress}, {idv.StatusSubmitted},
		{idv.StatusPassed, idv.StatusFailed, idv.StatusResubmissionRequested}, {idv.StatusNeedsReview},
		{idv.StatusApproved, idv.StatusDeclined, idv.StatusExpired, idv.StatusAbandoned},
	}
	for i, group := range order {
		for _, s := range group {
			if s.Rank() != i+1 {
				t.Errorf("%s has rank %d, want %d", s, s.Rank(), i+1)
			}
		}
	}
	if idv.Status("bogus").Valid() || idv.Check("bogus").Valid() || idv.Result("bogus").Valid() || idv.DecidedBy("x").Valid() {
		t.Error("unknown values are valid")
	}
	if idv.VerificationSubject("persona", idv.StatusApproved) != "idv.events.persona.verification.approved" ||
		idv.CheckSubject("credas", idv.CheckRightToWork) != "idv.events.credas.check.right_to_work" {
		t.Error("subjects")
	}
}
