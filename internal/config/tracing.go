package config

import (
	"math"
	"net/url"
	"strings"
)

// Tracing configures OpenTelemetry tracing (docs/tracing.md). It is off
// unless Endpoint is set: then no exporter runs, no span is made and no
// trace header is written anywhere.
type Tracing struct {
	// Endpoint is the base URL of an OTLP/HTTP receiver, such as
	// http://otel-collector:4318; spans are POSTed to <endpoint>/v1/traces
	// (as OTEL_EXPORTER_OTLP_ENDPOINT is read). Empty turns tracing off.
	// OTEL_EXPORTER_OTLP_ENDPOINT itself is not read (docs/decisions.md
	// D28): write endpoint: "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" to follow it.
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of new traces recorded, from 0 to 1 (default
	// 1: every webhook). A webhook that arrives with a traceparent follows
	// its caller's sampling decision instead.
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name of the spans; empty means the
	// binary's (idvbus, idvbus-ingest, idvbus-normalizer, idvbus-notifier).
	ServiceName string `yaml:"service_name"`
}

// DefaultTracing is tracing off, sampling every trace once it is turned on:
// IDV volumes are small (a few webhooks a second), so every trace is affordable.
func DefaultTracing() Tracing { return Tracing{SampleRatio: 1} }

// Enabled reports whether tracing is on.
func (t Tracing) Enabled() bool { return t.Endpoint != "" }

// TracesURL is where spans are sent: the endpoint with /v1/traces appended.
func (t Tracing) TracesURL() string {
	if t.Endpoint == "" {
		return ""
	}
	return strings.TrimSuffix(t.Endpoint, "/") + "/v1/traces"
}

func (t Tracing) validate(p *problems) {
	if t.Endpoint != "" {
		u, err := url.Parse(t.Endpoint)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			p.add("tracing.endpoint", "%q is not an http(s) URL such as http://otel-collector:4318", redactURL(t.Endpoint))
		case u.User != nil:
			p.add("tracing.endpoint", "must not carry credentials; set OTEL_EXPORTER_OTLP_HEADERS instead")
		case u.RawQuery != "" || u.Fragment != "":
			p.add("tracing.endpoint", "must have no query or fragment")
		}
	}
	if math.IsNaN(t.SampleRatio) || t.SampleRatio < 0 || t.SampleRatio > 1 {
		p.add("tracing.sample_ratio", "%v is not between 0 and 1", t.SampleRatio)
	}
	if len(t.ServiceName) > 128 {
		p.add("tracing.service_name", "longer than 128 bytes")
	}
}

// redactURL drops what could be a credential from a URL before it goes into
// an error message.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User("xxx")
		return u.String()
	}
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
