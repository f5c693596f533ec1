// Package natstest runs real in-process NATS JetStream servers for tests:
// loopback only, a random port, storage in t.TempDir(), stopped on cleanup.
package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// Server is an in-process JetStream server that a test can stop and start
// again on the same address with the same store, like a restarted process.
type Server struct {
	t    testing.TB
	opts server.Options
	ns   *server.Server
}

// RunJS starts a JetStream server and registers its shutdown with t.Cleanup.
func RunJS(t testing.TB) *Server {
	t.Helper()
	return RunJSWith(t, nil)
}

// RunJSWith is [RunJS] with configure, when set, changing the server's
// options first (users and permissions, say).
func RunJSWith(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(),
		JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30,
		MaxPayload: 2 << 20, // room for a 1 MiB webhook plus headers
		NoLog:      true, NoSigs: true,
	}}
	if configure != nil {
		configure(&s.opts)
	}
	s.Start()
	// Keep the port the OS chose, so a restart comes back where clients look.
	s.opts.Port = s.ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) and waits until it accepts clients.
func (s *Server) Start() {
	s.t.Helper()
	opts := s.opts
	ns, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		s.t.Fatal("natstest: server not ready")
	}
	s.ns = ns
}

// Stop shuts the server down and waits until it has; safe to call twice.
func (s *Server) Stop() {
	if s.ns == nil {
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.ns = nil
}

// URL is the client URL, stable across Stop and Start.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Connect opens a client connection closed on cleanup.
func (s *Server) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL(), opts...)
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ReadStream returns every message of stream, read from the server at url.
func ReadStream(t testing.TB, url, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted
		}
		if err != nil {
			t.Fatalf("natstest: %s seq %d: %v", stream, seq, err)
		}
		out = append(out, m)
	}
	return out
}

// Eventually polls cond every 10 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Bus connects to the server and sets up idvbus's topology as cfg describes
// it (streams, KV buckets), returning the bus on that connection.
func (s *Server) Bus(t testing.TB, cfg config.JetStream) *bus.Bus {
	t.Helper()
	b, err := bus.New(s.Connect(t), cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.EnsureTopology(ctx); err != nil {
		t.Fatalf("natstest: topology: %v", err)
	}
	return b
}
