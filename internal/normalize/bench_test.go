package normalize_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
)

// BenchmarkParseApplyEncode is the normalizer's CPU work for one Persona
// webhook without I/O: parse, apply to the verification's state, encode the
// state and the CloudEvent for NATS. One op = one webhook = one event.
func BenchmarkParseApplyEncode(b *testing.B) {
	p, err := vendors.NewParser("persona", report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	lifecycle := []struct{ name, status string }{
		{"inquiry.created", "created"}, {"inquiry.started", "pending"}, {"inquiry.completed", "completed"},
		{"inquiry.marked-for-review", "needs_review"}, {"inquiry.approved", "approved"},
	}
	base := time.Now()
	bodies := make([][]byte, len(lifecycle))
	for i, s := range lifecycle {
		bodies[i] = personaInquiry(fmt.Sprint("evt_", i), "inq_bench", s.name, s.status, base.Add(time.Duration(i)*time.Second))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var st normalize.State
	for i := 0; i < b.N; i++ {
		k := i % len(bodies)
		if k == 0 {
			st = normalize.State{}
		}
		r, err := p.Parse(bodies[k])
		if err != nil {
			b.Fatal(err)
		}
		next, outs, _, err := normalize.Apply(st, normalize.Input{
			Source: "persona", Vendor: "persona", Policy: normalize.PolicyVendor,
			RawKey: fmt.Sprint("persona:evt_", k), RawStream: "IDV_RAW", RawSeq: uint64(i + 1),
			ReceivedAt: base, Report: r, Now: base,
		})
		if err != nil || len(outs) != 1 {
			b.Fatalf("%v, %d outputs", err, len(outs))
		}
		if _, err := normalize.EncodeState(next); err != nil {
			b.Fatal(err)
		}
		if _, err := normalize.EncodeOutput("persona", next, outs[0]); err != nil {
			b.Fatal(err)
		}
		st = next
	}
}

// BenchmarkNormalizer measures end-to-end throughput on an in-process
// JetStream server (file storage, loopback TCP): b.N raw Persona webhooks,
// five per verification (a lifecycle), are stored first, then the
// normalizer drains them: KV read and compare-and-set write, CloudEvent
// publish and ack per webhook. Reports events/s; allocs/op include the NATS
// client's and the embedded server's allocations in this process.
func BenchmarkNormalizer(b *testing.B) {
	for _, workers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchNormalizer(b, workers, nil) })
	}
}

// benchNormalizer is one run of BenchmarkNormalizer; tr nil is tracing off.
func benchNormalizer(b *testing.B, workers int, tr *tracing.Tracer) {
	srv := natstest.RunJS(b)
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "persona", Vendor: "persona", DecisionPolicy: "vendor"}}
	cfg.Normalizer.Workers = workers
	nc := srv.Connect(b)
	bb, err := bus.New(nc, cfg.JetStream, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := bb.EnsureTopology(ctx); err != nil {
		b.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	lifecycle := []struct{ name, status string }{
		{"inquiry.created", "created"}, {"inquiry.started", "pending"}, {"inquiry.completed", "completed"},
		{"inquiry.marked-for-review", "needs_review"}, {"inquiry.approved", "approved"},
	}
	base := time.Now().Add(-time.Hour)
	for i := 0; i < b.N; i++ {
		s := lifecycle[i%len(lifecycle)]
		evt := fmt.Sprint("evt_", i)
		m := &nats.Msg{Subject: bus.RawSubject("persona", "persona"), Header: nats.Header{},
			Data: personaInquiry(evt, fmt.Sprint("inq_", i/len(lifecycle)), s.name, s.status, base.Add(time.Duration(i)*time.Millisecond))}
		m.Header[bus.HeaderMsgID] = []string{"persona:" + evt}
		m.Header[bus.HeaderSource] = []string{"persona"}
		m.Header[bus.HeaderVendor] = []string{"persona"}
		m.Header[bus.HeaderReceivedAt] = []string{time.Now().UTC().Format(bus.ReceivedAtLayout)}
		if _, err := js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	st, err := bb.State(ctx)
	if err != nil {
		b.Fatal(err)
	}
	metrics := normalize.NewMetrics()
	n, err := normalize.New(normalize.Options{Config: cfg.Normalizer, DuplicateWindow: time.Hour,
		Sources: cfg.Sources, Bus: bb, Store: st, Log: zap.NewNop(), Metrics: metrics, Tracer: tr})
	if err != nil {
		b.Fatal(err)
	}
	events, _ := js.Stream(ctx, bus.StreamEvents)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	for {
		info, err := events.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Msgs >= uint64(b.N) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
