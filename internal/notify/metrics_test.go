package notify

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type pendingByConsumer map[string]uint64

func (p pendingByConsumer) ConsumerPending(_ context.Context, _, durable string) (uint64, int, error) {
	n, ok := p[durable]
	if !ok {
		return 0, 0, errors.New("consumer not found")
	}
	return n, 1, nil
}

// A subscriber whose consumer cannot be read loses its own series, not the
// whole scrape.
func TestPendingCollectorSkipsUnreadableConsumers(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := pendingByConsumer{Durable("a"): 3}
	if err := NewMetrics().RegisterPending(reg, src, []string{"a", "gone"}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]int{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+"/"+m.GetLabel()[0].GetValue()]++
		}
	}
	want := map[string]int{"idvbus_notifier_pending_events/a": 1, "idvbus_notifier_ack_pending_events/a": 1}
	if len(got) != len(want) || got["idvbus_notifier_pending_events/a"] != 1 || got["idvbus_notifier_ack_pending_events/a"] != 1 {
		t.Fatalf("series %v, want %v", got, want)
	}
}
