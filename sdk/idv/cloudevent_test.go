package idv_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/sdk/idv"
)

var at = time.Date(2026, 3, 15, 18, 35, 1, 100_000_000, time.UTC)

// binaryHeader is a binary-mode event's headers as idvbus writes them, for
// a verification id already percent-encoded.
func binaryHeader(encodedSubject string) nats.Header {
	return nats.Header{
		"ce-specversion":     {"1.0"},
		"ce-id":              {"0f3c"},
		"ce-source":          {"/sources/persona"},
		"ce-type":            {string(idv.TypeVerificationUpdated)},
		"ce-subject":         {encodedSubject},
		"ce-time":            {at.Format(time.RFC3339Nano)},
		"ce-datacontenttype": {"application/json"},
		"ce-dataschema":      {idv.SchemaURL(idv.TypeVerificationUpdated)},
		"ce-vendor":          {"persona"},
		"Nats-Msg-Id":        {"0f3c"},
	}
}

var upd = idv.VerificationUpdated{
	VerificationID: "inq_1", Vendor: "persona", Source: "persona", ReferenceID: "user-42",
	Status: idv.StatusApproved, PreviousStatus: idv.StatusNeedsReview, Terminal: true,
	DecidedBy: idv.DecidedByVendor, Revision: 3, VendorEvent: "inquiry.approved", VendorStatus: "approved",
	OccurredAt: at, ReceivedAt: at.Add(time.Second), Raw: idv.RawRef{Stream: "IDV_RAW", Seq: 7},
}

// TestFromNATSBinary: every attribute of a binary-mode event is read, the
// ce-subject percent-decoded, and the data decodes as its type's.
func TestFromNATSBinary(t *testing.T) {
	data, _ := json.Marshal(upd)
	e, err := idv.FromNATS(binaryHeader("inq%20%22x%22%25%E2%82%AC"), data)
	if err != nil {
		t.Fatal(err)
	}
	want := idv.CloudEvent{SpecVersion: "1.0", ID: "0f3c", Source: "/sources/persona", Type: string(idv.TypeVerificationUpdated),
		Subject: `inq "x"%€`, Time: at, DataContentType: "application/json", DataSchema: idv.SchemaURL(idv.TypeVerificationUpdated),
		Extensions: map[string]string{"vendor": "persona"}, Data: data}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("FromNATS:\n%+v\nwant\n%+v", e, want)
	}
	if e.Vendor() != "persona" {
		t.Fatalf("Vendor() = %q", e.Vendor())
	}
	d, err := idv.DecodeVerificationUpdated(e)
	if err != nil || !reflect.DeepEqual(d, upd) {
		t.Fatalf("data %+v (%v), want %+v", d, err, upd)
	}
	if _, err := idv.DecodeCheckCompleted(e); !errors.Is(err, idv.ErrWrongType) {
		t.Fatalf("decoding as the wrong type: %v", err)
	}
	// Header names are matched without regard to case.
	h := binaryHeader("inq_1")
	h["Ce-Subject"], h["CE-VENDOR"] = h["ce-subject"], h["ce-vendor"]
	delete(h, "ce-subject")
	delete(h, "ce-vendor")
	if e, err := idv.FromNATS(h, data); err != nil || e.Subject != "inq_1" || e.Vendor() != "persona" {
		t.Fatalf("mixed-case headers: %+v, %v", e, err)
	}
}

// TestFromNATSStructured: a structured-mode event (the event as a JSON
// body) reads the same as its binary form, and MarshalJSON writes it.
func TestFromNATSStructured(t *testing.T) {
	data, _ := json.Marshal(upd)
	bin, err := idv.FromNATS(binaryHeader("inq%201"), data)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"specversion":"1.0"`, `"subject":"inq 1"`, `"vendor":"persona"`, `"data":{"verification_id":"inq_1"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("structured JSON lacks %s:\n%s", want, js)
		}
	}
	st, err := idv.FromNATS(nats.Header{"Content-Type": {idv.ContentTypeCloudEventsJSON + "; charset=utf-8"}}, js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, bin) {
		t.Fatalf("structured:\n%+v\nbinary:\n%+v", st, bin)
	}
	// Data that is not JSON travels as data_base64 and comes back as it was.
	text := idv.CloudEvent{SpecVersion: "1.0", ID: "1", Source: "/x", Type: "t", DataContentType: "text/plain", Data: []byte("héllo")}
	js, _ = json.Marshal(text)
	if !strings.Contains(string(js), `"data_base64":"aMOpbGxv"`) {
		t.Fatalf("text data: %s", js)
	}
	var back idv.CloudEvent
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back, text) {
		t.Fatalf("text data back: %+v, %v", back, err)
	}
}

// TestFromNATSInvalid: what is not a valid CloudEvent is refused with
// ErrNotCloudEvent, saying why.
func TestFromNATSInvalid(t *testing.T) {
	with := func(k, v string) nats.Header {
		h := binaryHeader("inq_1")
		if v == "" {
			delete(h, k)
		} else {
			h[k] = []string{v}
		}
		return h
	}
	structured := nats.Header{"content-type": {idv.ContentTypeCloudEventsJSON}}
	for _, tc := range []struct {
		name   string
		header nats.Header
		body   string
		why    string
	}{
		{"no headers", nats.Header{}, `{"hello":"world"}`, "no ce-specversion"},
		{"other spec version", with("ce-specversion", "0.3"), `{}`, "specversion"},
		{"no id", with("ce-id", ""), `{}`, "id: required"},
		{"no source", with("ce-source", ""), `{}`, "source: required"},
		{"no type", with("ce-type", ""), `{}`, "type: required"},
		{"empty subject", nats.Header(map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"/s"}, "ce-type": {"t"}, "ce-subject": {""}}), `{}`, "subject: empty"},
		{"bad time", with("ce-time", "yesterday"), `{}`, "time"},
		{"relative dataschema", with("ce-dataschema", "schemas/x.json"), `{}`, "dataschema"},
		{"bad media type", with("ce-datacontenttype", "json"), `{}`, "datacontenttype"},
		{"bad extension name", with("ce-vendor_name", "x"), `{}`, "extension"},
		{"bad percent", with("ce-subject", "inq%2"), `{}`, "hex digits"},
		{"percent, not hex", with("ce-subject", "inq%zz"), `{}`, "hex digits"},
		{"not UTF-8", with("ce-subject", "inq%FF"), `{}`, "UTF-8"},
		{"unterminated quote", with("ce-subject", `"inq`), `{}`, "quoted"},
		{"structured, not JSON", structured, `not an event`, "structured"},
		{"structured, data twice", structured, `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{},"data_base64":"e30="}`, "at most one"},
		{"structured, no id", structured, `{"specversion":"1.0","source":"/s","type":"t"}`, "id: required"},
		{"structured, extension object", structured, `{"specversion":"1.0","id":"1","source":"/s","type":"t","vendor":{}}`, "extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := idv.FromNATS(tc.header, []byte(tc.body))
			if !errors.Is(err, idv.ErrNotCloudEvent) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("FromNATS: %v; want ErrNotCloudEvent saying %q", err, tc.why)
			}
		})
	}
}

// TestHeaderValues: exactly space, double quote, percent and what is not
// printable ASCII are percent-encoded; decoding gives the value back.
func TestHeaderValues(t *testing.T) {
	for _, tc := range []struct{ value, encoded string }{
		{"inq_1-AbC.9", "inq_1-AbC.9"},
		{"inq 1", "inq%201"},
		{"50%", "50%25"},
		{`say "hi"`, "say%20%22hi%22"},
		{"Zoë", "Zo%C3%AB"},
		{"Euro € 😀", "Euro%20%E2%82%AC%20%F0%9F%98%80"}, // the binding's own example
		{"tab\there", "tab%09here"},
		{"del\x7f", "del%7F"},
		{"!#$&'()*+,/:;<=>?@[\\]^`{|}~", "!#$&'()*+,/:;<=>?@[\\]^`{|}~"},
		{"", ""},
	} {
		if got := idv.EncodeHeaderValue(tc.value); got != tc.encoded {
			t.Errorf("EncodeHeaderValue(%q) = %q, want %q", tc.value, got, tc.encoded)
		}
		if got, err := idv.DecodeHeaderValue(tc.encoded); err != nil || got != tc.value {
			t.Errorf("DecodeHeaderValue(%q) = %q, %v; want %q", tc.encoded, got, err, tc.value)
		}
	}
	// Older producers' quoted strings, and lower-case hex.
	for in, want := range map[string]string{`"a b"`: "a b", `"a\"b"`: `a"b`, `x"y z"`: "xy z", "zo%c3%ab": "zoë", "Zoë": "Zoë"} {
		if got, err := idv.DecodeHeaderValue(in); err != nil || got != want {
			t.Errorf("DecodeHeaderValue(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzHeaderValue: every string round-trips, and an encoded value is
// printable ASCII without space or double quote.
func FuzzHeaderValue(f *testing.F) {
	for _, s := range []string{"inq 1", "50%", `"q"`, "Zoë", "%zz", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := idv.EncodeHeaderValue(s)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= ' ' || c > '~' || c == '"' {
				t.Fatalf("EncodeHeaderValue(%q) = %q holds %q", s, enc, c)
			}
		}
		dec, err := idv.DecodeHeaderValue(enc)
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			if err == nil {
				t.Fatalf("%q is not UTF-8 but decoded to %q", s, dec)
			}
			return
		}
		if err != nil || dec != s {
			t.Fatalf("round trip of %q: %q, %v", s, dec, err)
		}
	})
}
