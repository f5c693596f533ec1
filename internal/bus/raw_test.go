package bus_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// TestPublishRawCollision: JetStream's duplicate report is checked against
// the stored body. A byte-identical redelivery stays one copy; a different
// body under the same vendor id is stored under the derived key, and a retry
// of that body is itself a duplicate.
func TestPublishRawCollision(t *testing.T) {
	srv := natstest.RunJS(t)
	b := srv.Bus(t, config.Default().JetStream)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := []byte(`{"type":"applicantPending"}`)
	second := []byte(`{"type":"applicantPersonalInfoChanged"}`)
	publish := func(body []byte) bus.Stored {
		t.Helper()
		st, err := b.PublishRaw(ctx, bus.RawMessage{Source: "sumsub", Vendor: "sumsub", MsgID: "sumsub:feb6",
			RequestID: "r", ReceivedAt: time.Now(), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	sum := sha256.Sum256(second)
	derived := "sumsub:feb6:sha256:" + hex.EncodeToString(sum[:])

	steps := []struct {
		name string
		body []byte
		want bus.Stored
	}{
		{"first body", first, bus.Stored{Seq: 1, MsgID: "sumsub:feb6"}},
		{"identical redelivery", first, bus.Stored{Seq: 1, Duplicate: true, MsgID: "sumsub:feb6"}},
		{"other body, same id", second, bus.Stored{Seq: 2, MsgID: derived, Collision: true}},
		{"retry of the other body", second, bus.Stored{Seq: 2, Duplicate: true, MsgID: derived, Collision: true}},
		{"first body again", first, bus.Stored{Seq: 1, Duplicate: true, MsgID: "sumsub:feb6"}},
	}
	for _, s := range steps {
		if got := publish(s.body); got != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
	}
	msgs := natstest.ReadStream(t, srv.URL(), bus.StreamRaw)
	if len(msgs) != 2 {
		t.Fatalf("IDV_RAW holds %d messages, want 2", len(msgs))
	}
	for i, want := range []struct{ id, body string }{{"sumsub:feb6", string(first)}, {derived, string(second)}} {
		if got := msgs[i].Header.Get(bus.HeaderMsgID); got != want.id || string(msgs[i].Data) != want.body {
			t.Errorf("message %d: id %q body %s, want %q %s", i+1, got, msgs[i].Data, want.id, want.body)
		}
	}
}

// TestStoredHeadersAreDocumented: a stored raw webhook carries only the
// contract's headers; no Nats-Expected-Stream, which breaks a consumer that
// forwards messages with their headers into its own stream.
func TestStoredHeadersAreDocumented(t *testing.T) {
	srv := natstest.RunJS(t)
	b := srv.Bus(t, config.Default().JetStream)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.PublishRaw(ctx, bus.RawMessage{Source: "persona", Vendor: "persona", MsgID: "persona:evt_1",
		RequestID: "r", ContentType: "application/json", ReceivedAt: time.Now(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	documented := []string{bus.HeaderMsgID, bus.HeaderSource, bus.HeaderVendor, bus.HeaderReceivedAt, bus.HeaderRequestID, bus.HeaderContentType}
	for _, m := range natstest.ReadStream(t, srv.URL(), bus.StreamRaw) {
		for k := range m.Header {
			if !contains(documented, k) {
				t.Errorf("stored raw message carries undocumented header %s", k)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestIsCollisionKey(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	cases := []struct {
		key  string
		want bool
	}{
		{"persona:evt_1:sha256:" + hex64, true},
		{"persona:a:b:sha256:" + hex64, true},
		{"persona:sha256:" + hex64, false},           // a body-hash key
		{"persona:evt_1", false},                     // a vendor id
		{"persona:evt_1:sha256:" + hex64[2:], false}, // too short
		{"persona:evt_1:sha256:" + strings.Repeat("AB", 32), false},
		{"other:evt_1:sha256:" + hex64, false}, // another source
		{"persona::sha256:" + hex64, false},
	}
	for _, tc := range cases {
		if got := bus.IsCollisionKey("persona", tc.key); got != tc.want {
			t.Errorf("IsCollisionKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if k := bus.CollisionKey("persona:evt_1", []byte("x")); !bus.IsCollisionKey("persona", k) {
		t.Errorf("CollisionKey %q is not recognised", k)
	}
}
