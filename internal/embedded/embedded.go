// Package embedded runs a NATS server with JetStream inside the idvbus process:
// the all-in-one's default, so one machine needs nothing else installed.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/listen"
)

// readyTimeout bounds the wait for the server to accept clients; recovering a
// large JetStream store at start can take a few seconds.
const readyTimeout = 60 * time.Second

// Server is a running embedded NATS server.
type Server struct {
	ns   *server.Server
	lock *dirLock
}

// Start starts a JetStream-enabled server listening on cfg.Listen with its
// store in cfg.StoreDir, and waits until it accepts clients. maxPayload is the
// largest message it must accept (at least the NATS default of 1 MB is used).
//
// The store directory is locked first, for as long as the server runs: while
// another process holds it, Start fails at once with [ErrStoreInUse] naming
// that process. An address in use fails at once too, naming the setting and
// its IDVBUS_ variable ([listen.Error]).
func Start(cfg config.Embedded, maxPayload int64, log *zap.Logger) (*Server, error) {
	lock, err := lockStore(cfg.StoreDir)
	if err != nil {
		return nil, err
	}
	srv, err := start(cfg, maxPayload, log)
	if err != nil {
		lock.release()
		return nil, err
	}
	srv.lock = lock
	return srv, nil
}

func start(cfg config.Embedded, maxPayload int64, log *zap.Logger) (*Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: port %q: %w", portStr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName:         "idvbus-embedded",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		MaxPayload:         int32(max(maxPayload, 1<<20)),
		SyncAlways:         cfg.SyncAlways,
		NoSigs:             true, // the idvbus process owns signal handling
	}
	if cfg.MonitorListen != "" {
		mhost, mport, err := net.SplitHostPort(cfg.MonitorListen)
		if err != nil {
			return nil, fmt.Errorf("nats.embedded.monitor_listen: %w", err)
		}
		if opts.HTTPPort, err = strconv.Atoi(mport); err != nil {
			return nil, fmt.Errorf("nats.embedded.monitor_listen: port %q: %w", mport, err)
		}
		opts.HTTPHost = mhost
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	fatal := make(chan string, 1)
	ns.SetLoggerV2(zapLogger{l: log.Sugar(), fatal: fatal}, false, false, false)
	ns.Start()
	// nats-server reports a port it cannot bind through Fatalf and then waits
	// to be killed: fail at once with its message instead of waiting out
	// readyTimeout.
	for deadline := time.Now().Add(readyTimeout); !ns.ReadyForConnections(100 * time.Millisecond); {
		select {
		case msg := <-fatal:
			ns.Shutdown()
			return nil, fatalError(cfg, msg)
		default:
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			return nil, errors.New("embedded NATS: not ready for connections within " + readyTimeout.String() + " (is another server using " + cfg.Listen + "?)")
		}
	}
	return &Server{ns: ns}, nil
}

// fatalError words a message nats-server gave up with. A port it could not
// listen on names the setting to change ([listen.Error]); the monitoring
// port's message says "monitor", the client port's "listening on port".
func fatalError(cfg config.Embedded, msg string) error {
	switch {
	case strings.Contains(strings.ToLower(msg), "monitor"):
		return listen.Error("nats.embedded.monitor_listen", cfg.MonitorListen, errors.New("embedded NATS: "+msg))
	case strings.Contains(msg, "listening on port"):
		return listen.Error("nats.embedded.listen", cfg.Listen, errors.New("embedded NATS: "+msg))
	}
	return errors.New("embedded NATS: " + msg)
}

// ClientURL is the URL other processes (subscribers, idvctl) connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server after it has flushed JetStream to disk, then
// releases the store directory.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.lock.release()
}

// zapLogger adapts zap to the nats-server logger interface. Fatal messages
// also go to fatal (without blocking) so Start can fail on them.
type zapLogger struct {
	l     *zap.SugaredLogger
	fatal chan<- string
}

// Notices (the start-up banner, routine state changes) go to debug: idvbus logs
// what an operator needs about the server itself.
func (z zapLogger) Noticef(format string, v ...any) { z.l.Debugf("nats: "+format, v...) }
func (z zapLogger) Warnf(format string, v ...any)   { z.l.Warnf("nats: "+format, v...) }
func (z zapLogger) Fatalf(format string, v ...any) {
	z.l.Errorf("nats: "+format, v...)
	select {
	case z.fatal <- fmt.Sprintf(format, v...):
	default:
	}
}
func (z zapLogger) Errorf(format string, v ...any) { z.l.Errorf("nats: "+format, v...) }
func (z zapLogger) Debugf(format string, v ...any) { z.l.Debugf("nats: "+format, v...) }
func (z zapLogger) Tracef(format string, v ...any) { z.l.Debugf("nats: "+format, v...) }
