package events_test

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

	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/sdk/idv"
)

var (
	at   = time.Date(2026, 3, 15, 18, 35, 1, 100_000_000, time.UTC)
	meta = events.Meta{ID: "0f3c", Source: "persona", Vendor: "persona", Subject: "inq_1", Time: at}
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
	e, err := events.NewVerificationUpdated(meta, upd)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	want, err := cejs.WriteMsg(context.Background(), binding.ToMessage(&e), &buf)
	if err != nil {
		t.Fatal(err)
	}
	want.Set(events.NATSMsgIDHeader, e.ID())
	got, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Header, want) || !bytes.Equal(got.Data, buf.Bytes()) {
		t.Fatalf("ToNATS:\n%v\n%s\nsdk-go:\n%v\n%s", got.Header, got.Data, want, buf.Bytes())
	}
	data, _ := json.Marshal(upd)
	fast, err := events.EncodeNATS(idv.TypeVerificationUpdated, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast.Header, want) || !bytes.Equal(fast.Data, buf.Bytes()) {
		t.Fatalf("EncodeNATS:\n%v\nsdk-go:\n%v", fast.Header, want)
	}
	if _, err := events.EncodeNATS(idv.TypeVerificationUpdated, events.Meta{}, data); err == nil {
		t.Fatal("EncodeNATS accepted an event without id and source")
	}
}

func TestRoundTrip(t *testing.T) {
	e, err := events.NewVerificationUpdated(meta, upd)
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != "0f3c" || back.Source != "/sources/persona" || back.Type != string(idv.TypeVerificationUpdated) ||
		back.Subject != "inq_1" || !back.Time.Equal(at) || back.Vendor() != "persona" ||
		back.DataSchema != idv.SchemaURL(idv.TypeVerificationUpdated) {
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
	// Structured mode (sdk-go's JSON event body, no ce- headers) reads too.
	js, _ := json.Marshal(e)
	st, err := idv.FromNATS(nats.Header{"content-type": []string{cloudevents.ApplicationCloudEventsJSON}}, js)
	if err != nil || !reflect.DeepEqual(st, back) {
		t.Fatalf("structured: %v %v", st, err)
	}
	if _, err := idv.FromNATS(nats.Header{}, []byte("not an event")); !errors.Is(err, idv.ErrNotCloudEvent) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestCheckCompletedEvent(t *testing.T) {
	c := idv.CheckCompleted{VerificationID: "inq_1", Vendor: "persona", Source: "persona", Check: idv.CheckSelfie,
		Result: idv.ResultPassed, VendorCheck: "verification/selfie", OccurredAt: at, ReceivedAt: at, Raw: idv.RawRef{Stream: "IDV_RAW", Seq: 1}}
	e, err := events.NewCheckCompleted(meta, c)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := events.ToNATS(e)
	back, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := idv.DecodeCheckCompleted(back); err != nil || !reflect.DeepEqual(d, c) {
		t.Fatalf("%+v %v", d, err)
	}
	if _, err := events.NewCheckCompleted(events.Meta{}, c); err == nil {
		t.Fatal("an event without id was built")
	}
}

// TestHeaderEncoding: a verification id holding a space, "%", a double
// quote or non-ASCII is percent-encoded in ce-subject by both encoders,
// the deterministic id and Nats-Msg-Id are unchanged, and idv.FromNATS
// gives the id back as the vendor sent it.
func TestHeaderEncoding(t *testing.T) {
	for _, tc := range []struct{ id, header string }{
		{"inq 1", "inq%201"},
		{"50%off", "50%25off"},
		{`say "hi"`, "say%20%22hi%22"},
		{"Zoë-日本", "Zo%C3%AB-%E6%97%A5%E6%9C%AC"},
	} {
		m := meta
		m.Subject = tc.id
		e, err := events.NewVerificationUpdated(m, upd)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := events.ToNATS(e)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(upd)
		fast, err := events.EncodeNATS(idv.TypeVerificationUpdated, m, data)
		if err != nil {
			t.Fatal(err)
		}
		for name, msg := range map[string]*nats.Msg{"ToNATS": slow, "EncodeNATS": fast} {
			if got := msg.Header.Get("ce-subject"); got != tc.header {
				t.Errorf("%s: ce-subject of %q = %q, want %q", name, tc.id, got, tc.header)
			}
			if msg.Header.Get("ce-id") != "0f3c" || msg.Header.Get(events.NATSMsgIDHeader) != "0f3c" {
				t.Errorf("%s: ids changed: %v", name, msg.Header)
			}
			back, err := idv.FromNATS(msg.Header, msg.Data)
			if err != nil || back.Subject != tc.id {
				t.Errorf("%s: read back %q, %v; want %q", name, back.Subject, err, tc.id)
			}
		}
		if !reflect.DeepEqual(slow.Header, fast.Header) {
			t.Errorf("the two encoders differ:\n%v\n%v", slow.Header, fast.Header)
		}
	}
}

// TestToSDK: a decoded event converts to sdk-go's with every attribute.
func TestToSDK(t *testing.T) {
	e, err := events.NewVerificationUpdated(meta, upd)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := events.ToNATS(e)
	dec, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := events.ToSDK(dec)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != e.String() {
		t.Fatalf("ToSDK:\n%s\nwant\n%s", back, e)
	}
}

// BenchmarkEncodeNATS: the normalizer's encoder per event, for a
// verification id that needs no percent-encoding (every vendor's so far)
// and for one that does.
func BenchmarkEncodeNATS(b *testing.B) {
	data, _ := json.Marshal(upd)
	for name, subject := range map[string]string{"plain": "inq_1", "encoded": "inq 1 Zoë"} {
		m := meta
		m.Subject = subject
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.EncodeNATS(idv.TypeVerificationUpdated, m, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
