package normalize

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type pendingStub struct {
	pending uint64
	ack     int
	err     error
}

func (s pendingStub) ConsumerPending(context.Context, string, string) (uint64, int, error) {
	return s.pending, s.ack, s.err
}

// A consumer that cannot be read (NATS down) must not fail the scrape: the
// other metrics are what an operator needs during the outage.
func TestLagCollectorUnreadableConsumerKeepsTheScrape(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    pendingStub
		series int
	}{
		{"readable", pendingStub{pending: 7, ack: 2}, 2},
		{"unreadable", pendingStub{err: errors.New("nats: connection closed")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			if err := NewMetrics().RegisterLag(reg, tc.src); err != nil {
				t.Fatal(err)
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			n := 0
			for _, f := range families {
				n += len(f.GetMetric())
				if f.GetName() == "idvbus_normalizer_consumer_pending" && f.GetMetric()[0].GetGauge().GetValue() != 7 {
					t.Fatalf("pending %v, want 7", f.GetMetric()[0].GetGauge().GetValue())
				}
			}
			if n != tc.series {
				t.Fatalf("%d series, want %d", n, tc.series)
			}
		})
	}
}
