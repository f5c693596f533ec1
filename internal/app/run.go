package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/listen"
	"github.com/idvbus/idvbus/internal/normalize"
	"github.com/idvbus/idvbus/internal/notify"
	"github.com/idvbus/idvbus/internal/retry"
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
//
// Each of these is a stage of one errgroup: the first stage to fail (a
// configuration the server cannot serve, a listener that fails) stops all
// the others, and run returns its error once every stage has returned. The
// HTTP stage stopping for any reason stops the rest too.
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
	var normalizeMetrics *normalize.Metrics
	if p.normalizer {
		normalizeMetrics = normalize.NewMetrics()
		if err := normalizeMetrics.Register(reg); err != nil {
			return err
		}
		if err := normalizeMetrics.RegisterLag(reg, b); err != nil {
			return err
		}
		if err := registerDLQGauge(reg, b); err != nil { // D29: the normalizer alone reports IDV_DLQ
			return err
		}
	}
	topology := make(chan struct{})
	serve, err := httpStage(cfg, b, webhooks, ops, readiness{b: b, topology: topology}, reg, tracer, log, p)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	var notifier *notify.Notifier // set before topology is closed
	// afterTopology runs f as a stage once the topology is ready (not at
	// all if the group stops first).
	afterTopology := func(f func() error) {
		g.Go(func() error {
			select {
			case <-topology:
				return f()
			case <-ctx.Done():
				return nil
			}
		})
	}
	g.Go(func() error {
		if err := b.EnsureTopologyRetrying(ctx); err != nil {
			return nil // the group stopped first
		}
		if p.ingest {
			if mp := b.MaxPayload(); mp > 0 && mp < cfg.Ingest.MaxBodyBytes+HeaderRoom {
				return fmt.Errorf("%w: the server accepts %d bytes, ingest needs %d (max_body_bytes %d + %d for headers): raise max_payload on the server or lower ingest.max_body_bytes",
					ErrMaxPayload, mp, cfg.Ingest.MaxBodyBytes+HeaderRoom, cfg.Ingest.MaxBodyBytes, HeaderRoom)
			}
		}
		if p.notifier {
			n, err := setUpNotifier(ctx, cfg, b, notifyMetrics, tracer, log.Named("notifier"))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			notifier = n
		}
		log.Info("jetstream topology ready", zap.String("server", b.ServerURL()),
			zap.Strings("sources", sourceNames(cfg.Sources)), zap.Strings("subscribers", subscriberNames(cfg.Subscribers)))
		close(topology)
		if p.ready != nil && webhooks != nil {
			p.ready(webhooks.Addr()) // where webhooks go
		}
		return nil
	})
	if p.normalizer {
		afterTopology(func() error {
			return runNormalizer(ctx, cfg, b, normalizeMetrics, tracer, log.Named("normalizer"))
		})
	}
	if p.notifier {
		afterTopology(func() error { return notifier.Run(ctx) })
	}
	g.Go(func() error {
		if err := serve(ctx); err != nil {
			return err
		}
		return errHTTPStopped // stop the other stages too
	})
	if err := g.Wait(); !errors.Is(err, errHTTPStopped) {
		return err
	}
	return nil
}

// errHTTPStopped is how the HTTP stage, having stopped without an error
// (ctx ended), stops the other stages of [run]; run returns nil for it.
var errHTTPStopped = errors.New("http stopped")

// httpStage builds the HTTP side of [run]: ingest's webhook port and its
// ops listener when ingest runs, else the ops listener alone. The returned
// func serves until ctx ends. Ingest's ops listener outlives the webhook
// port's drain, so probes see "shutting down" and the last metrics can be
// scraped meanwhile; its failure stops the webhook port too.
func httpStage(cfg config.Config, b *bus.Bus, webhooks, ops net.Listener, ready readiness, reg *prometheus.Registry, tracer *tracing.Tracer, log *zap.Logger, p parts) (func(ctx context.Context) error, error) {
	if !p.ingest {
		return func(ctx context.Context) error {
			return serveOps(ctx, ops, ready, reg, log.Named("ops"))
		}, nil
	}
	metrics := ingest.NewMetrics()
	if err := metrics.Register(reg); err != nil {
		return nil, err
	}
	svc, err := ingest.New(ingest.Options{
		Config: cfg.Ingest, Sources: cfg.Sources, Store: b, Ready: ready,
		Log: log.Named("ingest"), Metrics: metrics, Tracer: tracer,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		serveCtx, stopServe := context.WithCancelCause(ctx)
		defer stopServe(nil)
		opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
		opsDone := make(chan error, 1)
		go func() {
			err := serveOps(opsCtx, ops, svc, reg, log.Named("ops"))
			if err != nil {
				err = fmt.Errorf("ingest.ops_listen: %w", err)
				stopServe(err)
			}
			opsDone <- err
		}()
		err := svc.Serve(serveCtx, webhooks, svc.Handler())
		stopOps()
		if opsErr := <-opsDone; opsErr != nil {
			return opsErr
		}
		return err
	}, nil
}

// runNormalizer runs the normalizer until ctx ends. A failure to (re)create
// the consumer, e.g. while NATS is down, is retried ([retry.Default]);
// configuration errors are returned.
func runNormalizer(ctx context.Context, cfg config.Config, b *bus.Bus, metrics *normalize.Metrics, tracer *tracing.Tracer, log *zap.Logger) error {
	if cfg.Normalizer.Instance == "" {
		// A restarted container or pod keeps its host name (see
		// config.Normalizer.Instance).
		cfg.Normalizer.Instance, _ = os.Hostname()
	}
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		store, err := b.State(ctx)
		if err != nil {
			return err
		}
		n, err := normalize.New(normalize.Options{
			Config: cfg.Normalizer, DuplicateWindow: cfg.JetStream.DuplicateWindow,
			Sources: cfg.Sources, Bus: b, Store: store, Log: log, Metrics: metrics, Tracer: tracer,
		})
		if err != nil {
			return retry.Permanent(err)
		}
		log.Info("normalizer consuming", zap.String("consumer", normalize.Durable),
			zap.Int("workers", cfg.Normalizer.Workers), zap.String("instance", cfg.Normalizer.Instance))
		err = n.Run(ctx)
		if ctx.Err() != nil {
			return nil // stopped, not failed
		}
		if err == nil {
			err = errors.New("consumer stopped")
		}
		return err
	}, func(_ int, wait time.Duration, err error) {
		log.Warn("normalizer stopped; restarting", zap.Duration("retry_in", wait), zap.Error(err))
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

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
	var n *notify.Notifier
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		store, err := b.Deliveries(ctx)
		if err != nil {
			return err
		}
		nn, err := notify.New(notify.Options{
			Config: cfg.Notifier, Subscribers: cfg.Subscribers, Bus: b, Store: store, Log: log, Metrics: metrics,
			Tracer: tracer,
		})
		if err != nil {
			return retry.Permanent(err)
		}
		if err := nn.EnsureConsumers(ctx); err != nil {
			return err
		}
		if orphans, err := nn.Orphans(ctx, b.ConsumerNames); err == nil && len(orphans) > 0 {
			log.Warn("consumers of subscribers no longer configured hold their events; delete them if the subscriber is gone for good",
				zap.Strings("consumers", orphans))
		}
		n = nn
		return nil
	}, func(_ int, wait time.Duration, err error) {
		log.Warn("subscriber consumers not ready; retrying", zap.Duration("retry_in", wait), zap.Error(err))
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

func subscriberNames(subs []config.Subscriber) []string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	return names
}
