// Package apptest runs idvbus's services inside a test process, the way the
// binaries run them: each on its own loopback listeners (ingest's webhook
// port and every service's ops port), ready once the ops /readyz answers 200, stopped (and its error reported) when the test ends.
// The tests of internal/app itself keep their own helpers: they are in the
// package this one imports.
package apptest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// Service is the shape of [app.Ingest], [app.Normalizer] and [app.Notifier].
type Service func(ctx context.Context, cfg config.Config, nc *nats.Conn, ls app.Listeners, log *zap.Logger) error

// Endpoints are the base URLs of a service run by [Run] or [RunAllInOne].
type Endpoints struct {
	// Webhooks is ingest's public port: POST /webhooks/{source}, the bare
	// /healthz and /readyz. Only ingest and the all-in-one serve it.
	Webhooks string
	// Ops is the ops port: /metrics, the detailed /readyz, /healthz.
	Ops string
}

// Run runs svc with cfg until the test ends and returns its endpoints once
// its ops /readyz answers 200 (the test fails if that takes longer than ready). With
// nc nil it connects to cfg.NATS with bus.Connect, the production options,
// as client name, and closes that connection after the service stopped.
func Run(t testing.TB, name string, svc Service, cfg config.Config, nc *nats.Conn, log *zap.Logger, ready time.Duration) Endpoints {
	t.Helper()
	own := nc == nil
	if own {
		var err error
		if nc, err = bus.Connect(cfg.NATS, name, log); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return start(t, name, ready, func(ctx context.Context, ls app.Listeners) error {
		return svc(ctx, cfg, nc, ls, log)
	}, func() {
		if own {
			nc.Close()
		}
	})
}

// RunAllInOne runs [app.AllInOne] with cfg (on its embedded JetStream when
// nats.url is empty) until the test ends and returns its endpoints once the
// ops /readyz answers 200.
func RunAllInOne(t testing.TB, cfg config.Config, log *zap.Logger, ready time.Duration) Endpoints {
	t.Helper()
	return start(t, "all-in-one", ready, func(ctx context.Context, ls app.Listeners) error {
		return app.AllInOne(ctx, cfg, ls, log)
	}, func() {})
}

// WaitReady polls base/readyz until it answers 200; the test fails after timeout.
func WaitReady(t testing.TB, base string, timeout time.Duration) {
	t.Helper()
	natstest.Eventually(t, timeout, base+"/readyz 200", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// start runs serve on new loopback listeners in the background, stops it
// on cleanup (then calls after) and waits until it is ready.
func start(t testing.TB, name string, ready time.Duration, serve func(context.Context, app.Listeners) error, after func()) Endpoints {
	t.Helper()
	var ls app.Listeners
	for _, ln := range []*net.Listener{&ls.Webhooks, &ls.Ops} {
		var err error
		if *ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ls) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s stopped with %v", name, err)
		}
		ls.Webhooks.Close() // the normalizer and notifier do not serve it
		after()
	})
	ep := Endpoints{Webhooks: "http://" + ls.Webhooks.Addr().String(), Ops: "http://" + ls.Ops.Addr().String()}
	WaitReady(t, ep.Ops, ready)
	return ep
}
