package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// readyTimeout bounds one /readyz check, so a probe never hangs on a stuck NATS.
const readyTimeout = 2 * time.Second

// ErrShuttingDown is [Service.Ready]'s answer once shutdown has begun.
var ErrShuttingDown = errors.New("shutting down")

// Handler returns the public webhook API, the only thing the webhook port
// serves: POST /webhooks/{source} and, for load balancers, a bare GET
// /healthz and GET /readyz. The bare /readyz answers 200 "ok" or 503
// "unavailable" and never a reason: an error text must not reach the
// internet. Everything else is 404, /metrics included; the metrics and the
// detailed readiness are on the ops listener (ingest.ops_listen).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+webhookRoute, s.webhookHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if s.Ready(ctx) != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Ready reports whether ingest can take webhooks now: [ErrShuttingDown]
// once shutdown has begun, else the store's readiness (its error says why
// not). The ops listener's detailed /readyz shows the reason; the webhook
// port's bare one only the status.
func (s *Service) Ready(ctx context.Context) error {
	select {
	case <-s.draining:
		return ErrShuttingDown
	default:
	}
	return s.ready.Ready(ctx)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: [Service.Ready]
// turns to [ErrShuttingDown] (so /readyz answers 503), the listener closes, and requests in flight get up to
// ingest.shutdown_timeout to finish (their PubAck included). It returns nil
// after a clean shutdown.
//
// Every request whose framing is ambiguous (see framing.go) is answered 400
// and its connection closed before h sees it.
func (s *Service) Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	ln = framingListener{ln}
	srv := &http.Server{
		Handler:           s.guardFraming(h),
		ConnContext:       withFramingConn,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10, // webhooks carry a few small headers
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("ingest listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	close(s.draining)
	s.log.Info("ingest shutting down; finishing requests in flight", zap.Duration("timeout", s.cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
