package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/listen"
	"github.com/idvbus/idvbus/internal/normalize"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/internal/tracing"
)

// parts says which services one process runs on its NATS connection.
type parts struct {
	ingest, normalizer, notifier bool
	// tracer, when set, replaces the one the tracing config describes (tests).
	tracer *tracing.Tracer
	// ready, when set, is called once the topology is ready, with the
	// address the process serves HTTP on (the all-in-one's "ready" line).
	ready func(addr net.Addr)
}

// Listeners are where a service serves HTTP; a nil one is opened on the
// address of the config. Tests pass loopback listeners on port 0.
type Listeners struct {
	// Webhooks is ingest's public port (ingest.listen): POST
	// /webhooks/{source} and the bare /healthz and /readyz. Unused without ingest.
	Webhooks net.Listener
	// Ops is the operators' port: /metrics, the detailed /readyz and
	// /healthz. ingest.ops_listen for ingest and the all-in-one, else
	// normalizer.listen or notifier.listen.
	Ops net.Listener
}

// run runs the chosen services on nc until ctx ends or one fails. They share
// one Prometheus registry and one ops listener (/metrics, the detailed
// /readyz, /healthz): ingest.ops_listen when ingest runs, beside ingest's
// webhook port, else normalizer.listen or notifier.listen. The topology is
// set up in the background, then the subscribers' consumers (so no event is
// published before they exist); /readyz answers 503 until both are done, and
// the normalizer and notifier start consuming once they are.
func run(ctx context.Context, cfg config.Config, nc *nats.Conn, ls Listeners, log *zap.Logger, p parts) error {
	b, err := bus.New(nc, cfg.JetStream, log.Named("bus"))
	if err != nil {
		return err
	}
	// Listen first: a busy port is reported at once, before any NATS work.
	// Ingest has its webhook port and its ops port; the normalizer and the
	// notifier alone have their ops port.
	var webhooks net.Listener
	if p.ingest {
		if webhooks, err = listenOn(ls.Webhooks, "ingest.listen", cfg.Ingest.Listen); err != nil {
			return err
		}
		defer webhooks.Close() // for the early returns; Serve closes it too
	}
	opsKey, opsAddr := "ingest.ops_listen", cfg.Ingest.OpsListen
	switch {
	case p.ingest:
	case p.normalizer:
		opsKey, opsAddr = "normalizer.listen", cfg.Normalizer.Listen
	default:
		opsKey, opsAddr = "notifier.listen", cfg.Notifier.Listen
	}
	ops, err := listenOn(ls.Ops, opsKey, opsAddr)
	if err != nil {
		return err
	}
	defer ops.Close()
	tracer, stopTracing, err := startTracing(ctx, cfg.Tracing, p, log.Named("tracing"))
	if err != nil {
		return err
	}
	defer stopTracing()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoGauge())

	var notifyMetrics *notify.Metrics
	if p.notifier {
		notifyMetrics = notify.NewMetrics()
		if err := notifyMetrics.Register(reg); err != nil {
			return err
		}
		if err := notifyMetrics.RegisterPending(reg, b, subscriberNames(cfg.Subscribers)); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	topology := make(chan struct{})
	var notifier *notify.Notifier // set before topology is closed
	go func() {
		if err := b.EnsureTopologyRetrying(ctx); err != nil {
			return // ctx ended first
		}
		if p.ingest {
			if mp := b.MaxPayload(); mp > 0 && mp < cfg.Ingest.MaxBodyBytes+HeaderRoom {
				cancel(fmt.Errorf("%w: the server accepts %d bytes, ingest needs %d (max_body_bytes %d + %d for headers): raise max_payload on the server or lower ingest.max_body_bytes",
					ErrMaxPayload, mp, cfg.Ingest.MaxBodyBytes+HeaderRoom, cfg.Ingest.MaxBodyBytes, HeaderRoom))
				return
			}
		}
		if p.notifier {
			n, err := setUpNotifier(ctx, cfg, b, notifyMetrics, tracer, log.Named("notifier"))
			if err != nil {
				cancel(err)
				return
			}
			notifier = n
		}
		log.Info("jetstream topology ready", zap.String("server", b.ServerURL()),
			zap.Strings("sources", sourceNames(cfg.Sources)), zap.Strings("subscribers", subscriberNames(cfg.Subscribers)))
		close(topology)
		if p.ready != nil && webhooks != nil {
			p.ready(webhooks.Addr()) // where webhooks go
		}
	}()
	ready := readiness{b: b, topology: topology}

	var wg sync.WaitGroup
	// afterTopology runs f in the background once the topology is ready
	// (not at all if ctx ends first).
	afterTopology := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-topology:
				f()
			case <-ctx.Done():
			}
		}()
	}
	if p.normalizer {
		metrics := normalize.NewMetrics()
		if err := metrics.Register(reg); err != nil {
			return err
		}
		if err := metrics.RegisterLag(reg, b); err != nil {
			return err
		}
		if err := registerDLQGauge(reg, b); err != nil { // D29: the normalizer alone reports IDV_DLQ
			return err
		}
		afterTopology(func() {
			if err := runNormalizer(ctx, cfg, b, metrics, tracer, log.Named("normalizer")); err != nil {
				cancel(err)
			}
		})
	}
	if p.notifier {
		afterTopology(func() { _ = notifier.Run(ctx) })
	}

	var serveErr error
	if p.ingest {
		metrics := ingest.NewMetrics()
		if err := metrics.Register(reg); err != nil {
			return err
		}
		svc, err := ingest.New(ingest.Options{
			Config: cfg.Ingest, Sources: cfg.Sources, Store: b, Ready: ready,
			Log: log.Named("ingest"), Metrics: metrics, Tracer: tracer,
		})
		if err != nil {
			return err
		}
		// The ops listener outlives the webhook port's drain, so probes see
		// "shutting down" and the last metrics can be scraped meanwhile.
		opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
		opsDone := make(chan error, 1)
		go func() {
			err := serveOps(opsCtx, ops, svc, reg, log.Named("ops"))
			if err != nil {
				cancel(fmt.Errorf("ingest.ops_listen: %w", err))
			}
			opsDone <- err
		}()
		serveErr = svc.Serve(ctx, webhooks, svc.Handler())
		stopOps()
		<-opsDone // its failure, if any, is ctx's cause
	} else {
		serveErr = serveOps(ctx, ops, ready, reg, log.Named("ops"))
	}
	cancel(nil) // the HTTP side stopped: stop the rest too
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return serveErr
}

// runNormalizer runs the normalizer until ctx ends. A failure to (re)create
// the consumer, e.g. while NATS is down, is retried; configuration errors are
// returned.
func runNormalizer(ctx context.Context, cfg config.Config, b *bus.Bus, metrics *normalize.Metrics, tracer *tracing.Tracer, log *zap.Logger) error {
	wait := time.Second
	for {
		err := func() error {
			store, err := b.State(ctx)
			if err != nil {
				return err
			}
			n, err := normalize.New(normalize.Options{
				Config: cfg.Normalizer, DuplicateWindow: cfg.JetStream.DuplicateWindow,
				Sources: cfg.Sources, Bus: b, Store: store, Log: log, Metrics: metrics, Tracer: tracer,
			})
			if err != nil {
				return &fatalError{err}
			}
			log.Info("normalizer consuming", zap.String("consumer", normalize.Durable),
				zap.Int("workers", cfg.Normalizer.Workers))
			return n.Run(ctx)
		}()
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("normalizer stopped; restarting", zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// listenOn returns ln, or a new listener on addr when ln is nil; key names
// the setting (and its variable) in the error.
func listenOn(ln net.Listener, key, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	return listen.TCP(key, addr)
}

// serveOps serves the ops API until ctx ends: /healthz, /metrics, and the
// detailed /readyz, whose 503 says why (JSON {"status":"not ready","error":...}).
// It is for operators and their Prometheus and probes, never the internet:
// the reasons name hosts and streams.
func serveOps(ctx context.Context, ln net.Listener, b ingest.ReadyChecker, gatherer prometheus.Gatherer, log *zap.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := b.Ready(rctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: zap.NewStdLog(log)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("ops listening (/metrics, /readyz, /healthz)", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

func sourceNames(sources []config.Source) []string {
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	return names
}

// readiness is what /readyz checks: the topology (and the subscribers'
// consumers) set up by this process, and JetStream reachable with every
// stream and bucket present.
type readiness struct {
	b        *bus.Bus
	topology <-chan struct{}
}

// errStarting is /readyz's reason while the topology is being set up.
var errStarting = errors.New("setting up the JetStream topology")

func (r readiness) Ready(ctx context.Context) error {
	select {
	case <-r.topology:
	default:
		return errStarting
	}
	return r.b.Ready(ctx)
}

// setUpNotifier builds the notifier and creates or updates the subscribers'
// durable consumers, retrying while JetStream is unavailable. A subscriber
// that cannot be built (its config) is returned as an error.
func setUpNotifier(ctx context.Context, cfg config.Config, b *bus.Bus, metrics *notify.Metrics, tracer *tracing.Tracer, log *zap.Logger) (*notify.Notifier, error) {
	if len(cfg.Subscribers) == 0 {
		log.Info("no subscribers configured: nothing to deliver by webhook (README, Subscribers)")
	}
	wait := time.Second
	for {
		n, err := func() (*notify.Notifier, error) {
			store, err := b.Deliveries(ctx)
			if err != nil {
				return nil, err
			}
			n, err := notify.New(notify.Options{
				Config: cfg.Notifier, Subscribers: cfg.Subscribers, Bus: b, Store: store, Log: log, Metrics: metrics,
				Tracer: tracer,
			})
			if err != nil {
				return nil, &fatalError{err}
			}
			if err := n.EnsureConsumers(ctx); err != nil {
				return nil, err
			}
			if orphans, err := n.Orphans(ctx, b.ConsumerNames); err == nil && len(orphans) > 0 {
				log.Warn("consumers of subscribers no longer configured hold their events; delete them if the subscriber is gone for good",
					zap.Strings("consumers", orphans))
			}
			return n, nil
		}()
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return nil, fatal.err
		}
		if err == nil {
			return n, nil
		}
		log.Warn("subscriber consumers not ready; retrying", zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

func subscriberNames(subs []config.Subscriber) []string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	return names
}
