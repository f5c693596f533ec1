package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/idvbus/idvbus/internal/bus"
)

type fakeDLQ struct {
	counts []bus.DLQCount
	err    error
}

func (f fakeDLQ) DLQStored(context.Context) ([]bus.DLQCount, error) { return f.counts, f.err }

// gatherDLQ registers the collector on a fresh registry and returns the
// idvbus_dlq_messages series as "stage/name" -> value.
func gatherDLQ(t *testing.T, src DLQSource) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := registerDLQGauge(reg, src); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v (a failed DLQ read must not fail the scrape)", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "idvbus_dlq_messages" || f.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("family %s %s", f.GetName(), f.GetType())
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			got[l["stage"]+"/"+l["name"]] = m.GetGauge().GetValue()
		}
	}
	return got
}

func TestDLQGaugeSeries(t *testing.T) {
	got := gatherDLQ(t, fakeDLQ{counts: []bus.DLQCount{{Stage: "normalize", Name: "persona", Messages: 3}, {Stage: "notify", Name: "onboarding", Messages: 1}}})
	if len(got) != 2 || got["normalize/persona"] != 3 || got["notify/onboarding"] != 1 {
		t.Fatalf("series %v", got)
	}
	if got := gatherDLQ(t, fakeDLQ{err: errors.New("nats: timeout")}); len(got) != 0 {
		t.Fatalf("on a read error: %v, want no series", got)
	}
}

// TestDLQGaugeBoundsCardinality: past maxDLQSeries names, the rest of each
// stage is summed under one overflow series; the total is kept.
func TestDLQGaugeBoundsCardinality(t *testing.T) {
	var counts []bus.DLQCount
	var total uint64
	for i := range maxDLQSeries + 10 {
		stage := "normalize"
		if i >= maxDLQSeries-5 {
			stage = "notify"
		}
		n := bus.DLQCount{Stage: stage, Name: fmt.Sprintf("n%03d", i), Messages: uint64(i + 1)}
		counts = append(counts, n)
		total += n.Messages
	}
	got := gatherDLQ(t, fakeDLQ{counts: counts})
	if len(got) != maxDLQSeries+1 {
		t.Fatalf("%d series, want %d", len(got), maxDLQSeries+1)
	}
	var sum float64
	for _, v := range got {
		sum += v
	}
	if sum != float64(total) {
		t.Fatalf("sum %v, want %d", sum, total)
	}
	// The 10 past the bound are notify's n200..n209: 201+...+210.
	if got["notify/"+dlqOther] != 2055 {
		t.Fatalf("overflow %v, want 2055", got["notify/"+dlqOther])
	}
}
