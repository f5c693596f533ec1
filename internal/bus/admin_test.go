package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// TestEnsureConsumerAddsRedeliverSubject: a subscriber's consumer made
// before redeliveries existed gets idv.redeliver.<name> added to its filter
// when its notifier starts again, keeps its place, and then receives what
// is put back there (JetStream allows changing a consumer's filter subjects).
func TestEnsureConsumerAddsRedeliverSubject(t *testing.T) {
	js := natstest.RunJS(t)
	b := js.Bus(t, config.Default().JetStream)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	old := bus.ConsumerOptions{Stream: bus.StreamEvents, Durable: "notify-x", AckWait: time.Second, MaxAckPending: 10,
		FilterSubjects: []string{"idv.events.*.verification.approved"}}
	if err := b.EnsureConsumer(ctx, old); err != nil {
		t.Fatal(err)
	}
	publish := func(subject, id string) {
		m := &nats.Msg{Subject: subject, Header: nats.Header{bus.HeaderMsgID: {id}}, Data: []byte(id)}
		if _, _, err := b.Republish(ctx, bus.StreamEvents, m); err != nil {
			t.Fatal(err)
		}
	}
	publish("idv.events.persona.verification.approved", "a")
	p, err := b.Puller(ctx, bus.StreamEvents, "notify-x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	take := func() {
		t.Helper()
		if err := p.Fetch(ctx, 10, 300*time.Millisecond, func(m *bus.Msg) { got = append(got, string(m.Data())); _ = m.Ack() }); err != nil {
			t.Fatal(err)
		}
	}
	take()

	updated := old
	updated.FilterSubjects = append(slices.Clone(old.FilterSubjects), bus.RedeliverSubject("x"))
	if err := b.EnsureConsumer(ctx, updated); err != nil {
		t.Fatalf("update filter subjects: %v", err)
	}
	subs, err := b.ConsumerFilterSubjects(ctx, bus.StreamEvents, "notify-x")
	if err != nil || !slices.Contains(subs, "idv.redeliver.x") {
		t.Fatalf("filter subjects %v, %v", subs, err)
	}
	publish(bus.RedeliverSubject("y"), "for another subscriber")
	publish(bus.RedeliverSubject("x"), "b")
	publish("idv.events.persona.verification.approved", "c")
	p, err = b.Puller(ctx, bus.StreamEvents, "notify-x")
	if err != nil {
		t.Fatal(err)
	}
	take()
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("delivered %v, want [a b c]: the place kept, the redelivery taken, another's left", got)
	}
	if _, err := b.ConsumerFilterSubjects(ctx, bus.StreamEvents, "notify-nobody"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("missing consumer: %v, want ErrNotFound", err)
	}
}

// TestReadStreamAdmin: ReadStream reads by subject from a sequence or a
// time and stops at what was stored when it began; GetMsg and DeleteMsg
// report ErrNotFound for what is not there.
func TestReadStreamAdmin(t *testing.T) {
	js := natstest.RunJS(t)
	b, err := bus.New(js.Connect(t), config.Default().JetStream, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureTopology(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		subject := bus.DLQSubject("normalize", "a")
		if i%2 == 1 {
			subject = bus.DLQSubject("notify", "b")
		}
		m := &nats.Msg{Subject: subject, Header: nats.Header{bus.HeaderMsgID: {fmt.Sprint(i)}}, Data: []byte(fmt.Sprint(i))}
		if _, _, err := b.Republish(ctx, bus.StreamDLQ, m); err != nil {
			t.Fatal(err)
		}
	}
	read := func(o bus.ReadOptions) (seqs []uint64, total uint64) {
		t.Helper()
		err := b.ReadStream(ctx, bus.StreamDLQ, o, func(m bus.StoredMsg, n uint64) error {
			seqs, total = append(seqs, m.Seq), n
			if m.Seq == 1 {
				// Stored during the read: not read.
				extra := &nats.Msg{Subject: bus.DLQSubject("normalize", "a"), Header: nats.Header{bus.HeaderMsgID: {fmt.Sprint("x", len(seqs))}}}
				if _, _, err := b.Republish(ctx, bus.StreamDLQ, extra); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seqs, total
	}
	if seqs, total := read(bus.ReadOptions{Subjects: []string{"idv.dlq.normalize.*"}}); fmt.Sprint(seqs) != "[1 3 5]" || total != 3 {
		t.Fatalf("normalize: %v of %d", seqs, total)
	}
	if seqs, _ := read(bus.ReadOptions{Subjects: []string{"idv.dlq.*.*"}, StartSeq: 4}); fmt.Sprint(seqs) != "[4 5 6]" {
		t.Fatalf("from seq 4: %v", seqs)
	}
	if seqs, _ := read(bus.ReadOptions{StartTime: time.Now().Add(time.Hour)}); len(seqs) != 0 {
		t.Fatalf("from the future: %v", seqs)
	}
	if err := b.DeleteMsg(ctx, bus.StreamDLQ, 3, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMsg(ctx, bus.StreamDLQ, 3); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := b.DeleteMsg(ctx, bus.StreamDLQ, 3, false); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("delete deleted: %v", err)
	}
	if m, err := b.GetMsg(ctx, bus.StreamDLQ, 2); err != nil || string(m.Data) != "1" || m.Subject != "idv.dlq.notify.b" {
		t.Fatalf("get 2: %+v %v", m, err)
	}
}
