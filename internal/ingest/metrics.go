package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are ingest's Prometheus collectors.
type Metrics struct {
	requests  *prometheus.CounterVec
	authFails *prometheus.CounterVec
	publishes *prometheus.HistogramVec
	inflight  prometheus.Gauge
	dedup     *prometheus.CounterVec
}

// NewMetrics creates ingest's collectors; register them with [Metrics.Register].
func NewMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_ingest_requests_total",
			Help: "Webhook requests by source and outcome (accepted, duplicate, unauthorized, unknown_source, too_large, empty_body, bad_request, unavailable, overloaded, bad_framing).",
		}, []string{"source", "outcome"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_ingest_auth_failures_total",
			Help: "Refused webhooks by source and reason (missing_header, malformed_header, signature_mismatch, timestamp_out_of_tolerance, ip_not_allowed, bad_credentials): tells a rotated secret from clock skew.",
		}, []string{"source", "reason"}),
		publishes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "idvbus_ingest_publish_duration_seconds",
			Help: "Time from publishing a raw webhook to JetStream's PubAck (or failure), by source and result.",
			// 0.25 ms (in-process R1) to 5 s (the default publish timeout).
			Buckets: []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"source", "result"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "idvbus_ingest_inflight_body_bytes",
			Help: "Body bytes reserved by requests being read or awaiting their PubAck; at ingest.max_inflight_body_bytes new bodies are answered 503 (outcome overloaded).",
		}),
		dedup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idvbus_ingest_dedup_collisions_total",
			Help: "Webhooks whose vendor event id was already taken by a different body, stored under a derived key instead of being answered duplicate, by source: the vendor's id is not unique.",
		}, []string{"source"}),
	}
}

// Register adds the collectors to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.authFails, m.publishes, m.inflight, m.dedup} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Requests is the idvbus_ingest_requests_total counter (source, outcome).
func (m *Metrics) Requests() *prometheus.CounterVec { return m.requests }

func (m *Metrics) request(source, outcome string) {
	m.requests.WithLabelValues(source, outcome).Inc()
}

func (m *Metrics) authFailure(source, reason string) {
	m.requests.WithLabelValues(source, OutcomeUnauthorized).Inc()
	m.authFails.WithLabelValues(source, reason).Inc()
}

func (m *Metrics) publish(source string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.publishes.WithLabelValues(source, result).Observe(d.Seconds())
}

func (m *Metrics) inflightBytes(n int64)   { m.inflight.Set(float64(n)) }
func (m *Metrics) collision(source string) { m.dedup.WithLabelValues(source).Inc() }
