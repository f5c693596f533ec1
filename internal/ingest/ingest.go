// Package ingest is the HTTP front door: POST /webhooks/{source}.
//
// Guarantee: a webhook is answered 2xx only after JetStream acknowledged the
// write of its raw body (or reported it a duplicate of one already stored).
// Every other outcome is an error status the vendor can act on: 4xx for what
// a retry cannot fix (nothing is stored), 503 with Retry-After when the write
// is unconfirmed (the vendor's retry is deduplicated by the raw dedup key).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// RawStore stores one raw webhook durably; it returns only after the store
// confirmed the write. *bus.Bus implements it.
type RawStore interface {
	PublishRaw(ctx context.Context, m bus.RawMessage) (bus.Stored, error)
}

// ReadyChecker reports whether the store can take writes now (for /readyz).
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// Options are what an ingest [Service] is built from.
type Options struct {
	Config  config.Ingest
	Sources []config.Source
	Store   RawStore
	Ready   ReadyChecker
	Log     *zap.Logger
	Metrics *Metrics // nil: a new set, registered nowhere
	// Tracer makes a span per webhook and stores its trace context with the
	// raw webhook; nil is tracing off.
	Tracer *tracing.Tracer
}

// Service serves the ingest HTTP API.
type Service struct {
	cfg     config.Ingest
	sources map[string]source
	// sourceNames are the configured sources' names, sorted, for the log
	// line of an unknown source.
	sourceNames []string
	store       RawStore
	ready       ReadyChecker
	log         *zap.Logger
	reqLogger   *zap.Logger // log with one more caller skip, for reqLog.write
	// refusalLog is reqLogger named RefusalLoggerName; refusals samples its lines.
	refusalLog *zap.Logger
	refusals   *refusalSampler
	budget     *budget // body bytes being read at once
	metrics    *Metrics
	proxies    []netip.Prefix
	draining   chan struct{} // closed when shutdown starts: /readyz turns 503
	tracer     *tracing.Tracer
}

// source is one configured source, ready to verify requests.
type source struct {
	cfg      config.Source
	vendor   vendors.Vendor
	verifier webhookauth.Verifier
}

// New builds a Service; it fails on a source that does not validate.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Ready == nil || o.Log == nil {
		return nil, errors.New("ingest: Store, Ready and Log are required")
	}
	if len(o.Sources) == 0 {
		return nil, errors.New("ingest: no sources configured")
	}
	s := &Service{
		cfg: o.Config, store: o.Store, ready: o.Ready, log: o.Log,
		metrics: o.Metrics, sources: map[string]source{},
		draining: make(chan struct{}), tracer: o.Tracer,
	}
	s.reqLogger = s.log.WithOptions(zap.AddCallerSkip(1))
	s.refusalLog = s.reqLogger.Named(RefusalLoggerName)
	s.refusals = newRefusalSampler(refusalWindow, refusalBurst, time.Now)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if o.Config.MaxInflightBodyBytes < o.Config.MaxBodyBytes || o.Config.MaxInflightBodyBytesPerIP < o.Config.MaxBodyBytes {
		return nil, errors.New("ingest: max_inflight_body_bytes and max_inflight_body_bytes_per_ip must be at least max_body_bytes")
	}
	s.budget = newBudget(o.Config.MaxInflightBodyBytes, o.Config.MaxInflightBodyBytesPerIP, s.metrics.inflightBytes)
	for _, sc := range o.Sources {
		v, ok := vendors.Lookup(sc.Vendor)
		if !ok {
			return nil, fmt.Errorf("ingest: source %q: unknown vendor %q", sc.Name, sc.Vendor)
		}
		ver, err := webhookauth.New(sc.Auth, sc.AllowUnauthenticated)
		if err != nil {
			return nil, fmt.Errorf("ingest: source %q: %w", sc.Name, err)
		}
		s.sources[sc.Name] = source{cfg: sc, vendor: v, verifier: ver}
		s.sourceNames = append(s.sourceNames, sc.Name)
	}
	sort.Strings(s.sourceNames)
	proxies, err := webhookauth.ParseAllowIPs(o.Config.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("ingest: trusted_proxies: %w", err)
	}
	s.proxies = proxies
	return s, nil
}
