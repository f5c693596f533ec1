package normalize

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one raw webhook, the `outcome` label of
// idvbus_normalizer_messages_total.
const (
	OutcomeEmitted      = "emitted"       // state changed and events were published
	OutcomeUnchanged    = "unchanged"     // applied, but stale or no new status: no event
	OutcomeDuplicate    = "duplicate"     // the vendor event was applied before
	OutcomeIgnored      = "ignored"       // an event that carries nothing to normalize
	OutcomeDeadLettered = "dead_lettered" // moved to IDV_DLQ
	OutcomeRetried      = "retried"       // a retryable error; redelivered later
)

// Metrics are the normalizer's Prometheus metrics.
type Metrics struct {
	messages    *prometheus.CounterVec
	events      *prometheus.CounterVec
	stale       *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	unmapped    *prometheus.CounterVec
	republished prometheus.Counter
	latency     *prometheus.HistogramVec
}

// NewMetrics creates the metrics; register them with [Metrics.Register].
func NewMetrics() *Metrics {
	return &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_messages_total",
			Help: "Raw webhooks processed, by vendor and outcome (emitted, unchanged, duplicate, ignored, dead_lettered, retried).",
		}, []string{"vendor", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_events_total",
			Help: "CloudEvents published to IDV_EVENTS, by vendor and type.",
		}, []string{"vendor", "type"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_stale_total",
			Help: "Status or check updates that changed nothing because a newer one had been applied.",
		}, []string{"vendor"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_duplicates_total",
			Help: "Vendor events received again after they had been applied.",
		}, []string{"vendor"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_dead_letters_total",
			Help: "Raw webhooks moved to IDV_DLQ, by vendor and reason class.",
		}, []string{"vendor", "reason"}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_normalizer_unmapped_values_total",
			Help: "Vendor values (event names, statuses, result codes) the parser did not recognise and tolerated.",
		}, []string{"vendor"}),
		republished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idvbus_normalizer_outbox_republished_total",
			Help: "Events published again from a verification's outbox because an earlier publish could not be confirmed (after a crash).",
		}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idvbus_normalizer_processing_seconds",
			Help:    "Time from a raw webhook's delivery to the normalizer until its ack.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"vendor"}),
	}
}

// Register registers the metrics with reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.messages, m.events, m.stale, m.duplicates, m.deadLetters, m.unmapped, m.republished, m.latency} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Messages returns idvbus_normalizer_messages_total (for tests and tools).
func (m *Metrics) Messages() *prometheus.CounterVec { return m.messages }

// RegisterLag registers idvbus_normalizer_consumer_pending and
// idvbus_normalizer_consumer_ack_pending, read from the durable consumer at
// each scrape; while the consumer cannot be read the two series are absent.
func (m *Metrics) RegisterLag(reg prometheus.Registerer, src PendingSource) error {
	return reg.Register(&lagCollector{src: src,
		pending: prometheus.NewDesc("idvbus_normalizer_consumer_pending",
			"Raw webhooks stored but not yet delivered to the normalizer (consumer lag).", nil, nil),
		ackPending: prometheus.NewDesc("idvbus_normalizer_consumer_ack_pending",
			"Raw webhooks delivered to the normalizer and not yet acknowledged.", nil, nil),
	})
}

// PendingSource reads the consumer's backlog.
type PendingSource interface {
	ConsumerPending(ctx context.Context, stream, durable string) (pending uint64, ackPending int, err error)
}

type lagCollector struct {
	src                 PendingSource
	pending, ackPending *prometheus.Desc
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.ackPending }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, ap, err := c.src.ConsumerPending(ctx, streamRaw, Durable)
	if err != nil {
		// Leave the series out rather than fail the whole scrape: while NATS
		// is unreachable every other metric of the process is what an
		// operator needs most.
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(p))
	ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(ap))
}
