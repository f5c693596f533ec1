package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idvbus/idvbus/internal/bus"
)

// Metrics are the notifier's Prometheus metrics, labelled by subscriber.
type Metrics struct {
	attempts    *prometheus.CounterVec
	attemptTime *prometheus.HistogramVec
	latency     *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	postponed   *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	circuit     *prometheus.GaugeVec
	disabled    *prometheus.GaugeVec
}

// NewMetrics creates the metrics; register them with [Metrics.Register].
func NewMetrics() *Metrics {
	return &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_notifier_attempts_total",
			Help: "Delivery attempts, by subscriber and outcome (success, redirect, rejected, request_timeout, rate_limited, server_error, timeout, connection_error).",
		}, []string{"subscriber", "outcome"}),
		attemptTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idvbus_notifier_attempt_duration_seconds",
			Help:    "Duration of one delivery attempt (request sent to answer read), by subscriber.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"subscriber"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "idvbus_notifier_delivery_latency_seconds",
			Help: "Time from ingest receiving the vendor's webhook (the event's received_at) to the subscriber's 2xx, retries included, by subscriber.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600,
				6 * 3600, 24 * 3600, 72 * 3600},
		}, []string{"subscriber"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_notifier_retries_total",
			Help: "Retries scheduled after a retryable failure, by subscriber.",
		}, []string{"subscriber"}),
		postponed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_notifier_postponed_total",
			Help: "Events put back without an attempt because the subscriber's circuit was open or it asked to wait (Retry-After), by subscriber and reason (circuit_open, retry_after, disabled).",
		}, []string{"subscriber", "reason"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_notifier_dead_letters_total",
			Help: "Events moved to IDV_DLQ (idv.dlq.notify.<subscriber>), by subscriber and reason (rejected, attempts_exhausted, age_exhausted, invalid_event).",
		}, []string{"subscriber", "reason"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "idvbus_notifier_circuit_state",
			Help: "State of the subscriber's circuit breaker: 0 closed (delivering), 1 half-open (probing), 2 open (paused).",
		}, []string{"subscriber"}),
		disabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "idvbus_notifier_subscriber_disabled",
			Help: "1 while the subscriber is disabled because it answered 410 Gone: nothing is delivered to it (its consumer keeps its place) until an operator resumes it with idvctl subscriber resume; 0 otherwise.",
		}, []string{"subscriber"}),
	}
}

// Register registers the metrics with reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.attempts, m.attemptTime, m.latency, m.retries, m.postponed, m.deadLetters, m.circuit, m.disabled} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Attempts returns idvbus_notifier_attempts_total (for tests and tools).
func (m *Metrics) Attempts() *prometheus.CounterVec { return m.attempts }

// DeadLetters returns idvbus_notifier_dead_letters_total (for tests and tools).
func (m *Metrics) DeadLetters() *prometheus.CounterVec { return m.deadLetters }

// Disabled returns idvbus_notifier_subscriber_disabled (for tests and tools).
func (m *Metrics) Disabled() *prometheus.GaugeVec { return m.disabled }

// Postponed returns idvbus_notifier_postponed_total (for tests and tools).
func (m *Metrics) Postponed() *prometheus.CounterVec { return m.postponed }

// PendingSource reads a durable consumer's backlog; *bus.Bus implements it.
type PendingSource interface {
	ConsumerPending(ctx context.Context, stream, durable string) (pending uint64, ackPending int, err error)
}

// RegisterPending registers idvbus_notifier_pending_events and
// idvbus_notifier_ack_pending_events for each subscriber, read from its
// durable consumer at each scrape; a consumer that cannot be read has no
// series then.
func (m *Metrics) RegisterPending(reg prometheus.Registerer, src PendingSource, subscribers []string) error {
	return reg.Register(&pendingCollector{src: src, subscribers: subscribers,
		pending: prometheus.NewDesc("idvbus_notifier_pending_events",
			"Events chosen by the subscriber's filter and not yet handed to a notifier.", []string{"subscriber"}, nil),
		ackPending: prometheus.NewDesc("idvbus_notifier_ack_pending_events",
			"Events handed out and not yet finished: being delivered or waiting for a retry.", []string{"subscriber"}, nil),
	})
}

type pendingCollector struct {
	src                 PendingSource
	subscribers         []string
	pending, ackPending *prometheus.Desc
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.ackPending }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, name := range c.subscribers {
		p, ap, err := c.src.ConsumerPending(ctx, bus.StreamEvents, Durable(name))
		if err != nil {
			// Leave this subscriber's series out rather than fail the
			// whole scrape (NATS unreachable, consumer not created yet).
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(p), name)
		ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(ap), name)
	}
}
