package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idvbus/idvbus/internal/bus"
)

// maxDLQSeries bounds the named series idvbus_dlq_messages exposes per
// scrape. Names are sources and subscribers, so a real deployment has tens;
// past the bound, the rest of each stage is summed under name [dlqOther], so
// the totals stay right and the cardinality bounded.
const maxDLQSeries = 200

// dlqOther is the name of the overflow series: not a valid source or
// subscriber name ([a-z0-9_-]), so it cannot be mistaken for one.
const dlqOther = "(other)"

// dlqQueryTimeout bounds the one JetStream request made per scrape, well
// within Prometheus's default 10 s scrape timeout.
const dlqQueryTimeout = 2 * time.Second

// DLQSource reads the dead letters stored in IDV_DLQ; *bus.Bus implements it.
type DLQSource interface {
	DLQStored(ctx context.Context) ([]bus.DLQCount, error)
}

// dlqCollector exposes idvbus_dlq_messages{stage,name}: the dead letters
// IDV_DLQ holds now, read at each scrape. Unlike the per-process
// *_dead_letters_total counters it survives restarts and falls when dead
// letters are replayed or purged, so "is anything waiting for an operator"
// is one query. If IDV_DLQ cannot be read, the scrape goes on without it
// (the other metrics stay visible; the series are absent for that scrape).
type dlqCollector struct {
	src  DLQSource
	desc *prometheus.Desc
}

// newDLQCollector returns the collector reading src.
func newDLQCollector(src DLQSource) *dlqCollector {
	return &dlqCollector{src: src, desc: prometheus.NewDesc("idvbus_dlq_messages",
		"Dead letters stored in IDV_DLQ now, by stage (normalize, notify) and name (source or subscriber); falls when they are replayed or purged.",
		[]string{"stage", "name"}, nil)}
}

// registerDLQGauge registers idvbus_dlq_messages, read from b's IDV_DLQ.
// One service registers it (the normalizer: few replicas, present in every
// deployment), so the stream is queried once per scrape interval, not once
// per ingest or notifier replica (docs/decisions.md D29).
func registerDLQGauge(reg prometheus.Registerer, src DLQSource) error {
	return reg.Register(newDLQCollector(src))
}

func (c *dlqCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *dlqCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), dlqQueryTimeout)
	defer cancel()
	counts, err := c.src.DLQStored(ctx)
	if err != nil {
		return
	}
	other := map[string]uint64{}
	for i, n := range counts {
		if i >= maxDLQSeries {
			other[n.Stage] += n.Messages
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.Messages), n.Stage, n.Name)
	}
	for stage, n := range other {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), stage, dlqOther)
	}
}
