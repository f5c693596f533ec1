package bus_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
)

func TestStateHistory(t *testing.T) {
	b := newTailBus(t)
	ctx := context.Background()
	if _, err := b.StateHistory(ctx, "persona.inq_none"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("missing key: %v, want ErrNotFound", err)
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := st.Put(ctx, "persona.inq_1", []byte(`{"status":"created"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "persona.inq_1", []byte(`{"status":"approved"}`), r1); err != nil {
		t.Fatal(err)
	}
	h, err := b.StateHistory(ctx, "persona.inq_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || string(h[0].Value) != `{"status":"created"}` || string(h[1].Value) != `{"status":"approved"}` ||
		h[0].Revision != r1 || h[1].Revision <= r1 || h[1].Deleted || time.Since(h[1].Created) > time.Minute {
		t.Fatalf("history %+v", h)
	}
}

func TestStatusViews(t *testing.T) {
	b := newTailBus(t)
	ctx := context.Background()
	publishEvents(t, b, 0, approved, created)
	for i, name := range []string{"persona", "persona", "incode"} {
		err := b.PublishDLQ(ctx, bus.DeadLetter{Stage: bus.StageNormalize, Name: name, Reason: "bad",
			OriginalStream: bus.StreamRaw, OriginalSubject: "idv.raw.x." + name, OriginalSeq: uint64(i + 1), Body: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.EnsureConsumer(ctx, bus.ConsumerOptions{Stream: bus.StreamEvents, Durable: "notify-a",
		FilterSubjects: []string{"idv.events.>"}, AckWait: time.Minute, MaxAckPending: 10}); err != nil {
		t.Fatal(err)
	}
	ss, err := b.StreamStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[1].Name != bus.StreamEvents || ss[1].Msgs != 2 || ss[1].LastTime.IsZero() || ss[2].Msgs != 3 || ss[0].Msgs != 0 {
		t.Fatalf("streams %+v", ss)
	}
	cs, err := b.ConsumerStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != "notify-a" || cs[0].Pending != 2 || cs[0].Stream != bus.StreamEvents {
		t.Fatalf("consumers %+v", cs)
	}
	dl, err := b.DLQStored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bus.DLQCount{{Stage: "normalize", Name: "incode", Messages: 1}, {Stage: "normalize", Name: "persona", Messages: 2}}; !slices.Equal(dl, want) {
		t.Fatalf("dead letters %+v, want %+v", dl, want)
	}
	bs, err := b.BucketStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Name != bus.BucketState || bs[0].History < 1 {
		t.Fatalf("buckets %+v", bs)
	}
}
