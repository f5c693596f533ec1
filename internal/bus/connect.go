package bus

import (
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
)

// Connect opens a connection to NATS as cfg says (servers, credentials, TLS).
//
// It does not wait for the servers: if none answers yet, the connection keeps
// trying in the background forever, and [Bus.Ready] reports false meanwhile.
// Publishes made while disconnected fail at once instead of being buffered
// (ReconnectBufSize -1): ingest must answer the vendor 503 promptly rather than
// hold a webhook in memory that a crash would lose.
//
// Every failed attempt is remembered: the first is logged at once with the
// URL (without credentials) and its cause (connection refused, timed out,
// authorization failed, TLS), later ones every 30 s, and a [Bus] operation
// failing meanwhile returns a [NotConnectedError] saying the same. With
// nats.RetryOnFailedConnect(false) among extra (idvctl), an unreachable server
// is an error at once, worded the same way.
//
// extra options come last and win.
func Connect(cfg config.NATS, name string, log *zap.Logger, extra ...nats.Option) (*nats.Conn, error) {
	url := cfg.URL
	if url == "" {
		url = config.DefaultNATSURL
	}
	if cfg.Name != "" {
		name = cfg.Name
	}
	state := &connState{url: RedactURL(url)}
	opts := []nats.Option{
		nats.SetCustomDialer(&dialer{d: net.Dialer{Timeout: cfg.ConnectTimeout}, state: state}),
		nats.Name(name),
		nats.Timeout(cfg.ConnectTimeout),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(nc *nats.Conn) {
			state.connected()
			log.Info("connected to NATS", zap.String("server", nc.ConnectedUrlRedacted()))
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { state.failed(err, log) }),
		nats.ClosedHandler(func(nc *nats.Conn) { connStates.Delete(nc) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("disconnected from NATS", zap.Error(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			state.connected()
			log.Info("reconnected to NATS", zap.String("server", nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS async error", zap.String("subject", subject), zap.Error(err))
		}),
	}
	switch {
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.NkeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.TLS.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CAFile))
	}
	if cfg.TLS.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.TLS.CertFile, cfg.TLS.KeyFile))
	}
	opts = append(opts, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		state.mu.Lock()
		err = state.reason(err)
		state.mu.Unlock()
		return nil, &connectError{url: state.url, err: err}
	}
	connStates.Store(nc, state)
	if nc.IsClosed() { // closed before it was stored: ClosedHandler missed it
		connStates.Delete(nc)
	}
	return nc, nil
}

// connectError is a first connection that failed: "connect to NATS at <url>:
// <cause>" (see [Cause]); it unwraps to nats.go's error.
type connectError struct {
	url string
	err error
}

func (e *connectError) Error() string { return "connect to NATS at " + e.url + ": " + Cause(e.err) }
func (e *connectError) Unwrap() error { return e.err }
