package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

// TestStartAndResume: a new durable consumer starts with new events by
// default, or at StartTime; a restarted one resumes with what it missed.
func TestStartAndResume(t *testing.T) {
	s := newStack(t)
	s.publish(t, updateMsg(t, update("persona", "old", idv.StatusApproved, 1)))
	since := time.Now()
	s.publish(t, updateMsg(t, update("persona", "since", idv.StatusApproved, 1)))

	start := func(durable string, o subscribe.Options) (*recorder, func() error) {
		var r recorder
		o.Durable = durable
		sub := s.subscriber(t, o)
		sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
			r.update(ev, d)
			return nil
		})
		return &r, run(t, sub)
	}
	ids := func(r *recorder) []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		var out []string
		for _, d := range r.updates {
			out = append(out, d.VerificationID)
		}
		return out
	}

	newOnly, stopNew := start("new-only", subscribe.Options{})
	fromTime, _ := start("from-time", subscribe.Options{StartTime: since})
	s.waitConsumer(t, "new-only")
	s.publish(t, updateMsg(t, update("persona", "new", idv.StatusApproved, 1)))
	// Wait for what each handled, not only for settled consumers: a consumer
	// the server has just created reports nothing pending until it has its
	// start position (nats-server counts pending on the consumer's leader
	// only), so "settled" alone can hold before its first event is handled.
	natstest.Eventually(t, 30*time.Second, "both handled their events and settled", func() bool {
		return len(ids(newOnly)) >= 1 && len(ids(fromTime)) >= 2 && s.settled(t, "new-only") && s.settled(t, "from-time")
	})
	if got := fmt.Sprint(ids(newOnly)); got != "[new]" {
		t.Fatalf("default start handled %s, want [new]", got)
	}
	if got := fmt.Sprint(ids(fromTime)); got != "[since new]" {
		t.Fatalf("StartTime handled %s, want [since new]", got)
	}

	// Down for a while: what was stored meanwhile waits for it.
	if err := stopNew(); err != nil {
		t.Fatal(err)
	}
	// Publish once the server has dropped the stopped process's last pull
	// request: the stopped subscriber no longer listens to it, and an event
	// the server sent into it would wait for the ack wait.
	js, err := jetstreamOf(s)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, "no pull request left", func() bool {
		c, err := js.Consumer(context.Background(), bus.StreamEvents, "new-only")
		return err == nil && c.CachedInfo().NumWaiting == 0
	})
	s.publish(t, updateMsg(t, update("persona", "while-down", idv.StatusApproved, 1)))
	resumed, _ := start("new-only", subscribe.Options{})
	natstest.Eventually(t, 10*time.Second, "the missed event handled", func() bool {
		return len(ids(resumed)) == 1 && s.settled(t, "new-only")
	})
	if got := fmt.Sprint(ids(resumed)); got != "[while-down]" {
		t.Fatalf("after a restart handled %s, want [while-down]", got)
	}
}

// TestShutdownFinishesHandler: when Run's context ends during a handler,
// Run waits for it (its context still live) and the event is acked.
func TestShutdownFinishesHandler(t *testing.T) {
	s := newStack(t)
	running, release := make(chan struct{}), make(chan struct{})
	var handlerErr atomic.Value
	sub := s.subscriber(t, subscribe.Options{Durable: "shutdown", DeliverAll: true})
	sub.OnVerificationUpdated(func(ctx context.Context, _ subscribe.Event, _ idv.VerificationUpdated) error {
		close(running)
		<-release
		handlerErr.Store(fmt.Sprint(ctx.Err()))
		return nil
	})
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	stop := run(t, sub)
	<-running
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := handlerErr.Load(); got != "<nil>" {
		t.Fatalf("handler context: %v, want live", got)
	}
	natstest.Eventually(t, 10*time.Second, "the event acked", func() bool { return s.settled(t, "shutdown") })
}

// TestConsumerDeletedUnderRun: Run outlives the loss of its consumer (an
// operator deleted it): it sets it up again and goes on.
func TestConsumerDeletedUnderRun(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "deleted"})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	run(t, sub)
	s.waitConsumer(t, "deleted")
	js, err := jetstreamOf(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteConsumer(context.Background(), bus.StreamEvents, "deleted"); err != nil {
		t.Fatal(err)
	}
	s.waitConsumer(t, "deleted") // created again by Run
	s.publish(t, updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1)))
	natstest.Eventually(t, 20*time.Second, "the event handled", func() bool {
		n, _ := r.counts()
		return n == 1 && s.settled(t, "deleted")
	})
}

// TestServerRestart: Run rides out a NATS restart.
func TestServerRestart(t *testing.T) {
	s := newStack(t)
	var r recorder
	sub := s.subscriber(t, subscribe.Options{Durable: "restart"},
		nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	stop := run(t, sub)
	s.waitConsumer(t, "restart")
	s.srv.Stop()
	s.srv.Start()
	// The test's own connection reconnects too (nats.go's defaults), and
	// publishing works once JetStream has recovered its streams.
	msg := updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1))
	natstest.Eventually(t, 30*time.Second, "JetStream back", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.b.PublishEvents(ctx, []*nats.Msg{msg})
		return err == nil
	})
	natstest.Eventually(t, 30*time.Second, "the event handled after the restart", func() bool {
		n, _ := r.counts()
		return n == 1 && s.settled(t, "restart")
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestRunErrors: Run fails at once when it cannot work, and a Subscriber
// runs once at a time.
func TestRunErrors(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	none := s.subscriber(t, subscribe.Options{Durable: "none"})
	if err := none.Run(ctx); !errors.Is(err, subscribe.ErrNoHandler) {
		t.Fatalf("no handler: %v, want ErrNoHandler", err)
	}
	// The zero filter chooses decisions only: a check handler has nothing.
	checks := s.subscriber(t, subscribe.Options{Durable: "checks"})
	checks.OnCheckCompleted(func(context.Context, subscribe.Event, idv.CheckCompleted) error { return nil })
	if err := checks.Run(ctx); !errors.Is(err, subscribe.ErrNoHandler) {
		t.Fatalf("check handler, decisions filter: %v, want ErrNoHandler", err)
	}

	sub := s.subscriber(t, subscribe.Options{Durable: "once"})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error { return nil })
	run(t, sub)
	s.waitConsumer(t, "once")
	if err := sub.Run(ctx); !errors.Is(err, subscribe.ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a handler after Run did not panic")
		}
	}()
	sub.OnCheckCompleted(func(context.Context, subscribe.Event, idv.CheckCompleted) error { return nil })
}

// retries counts the subscriber's "retrying" log records: the sign that
// Run met a transient failure and goes on.
type retries struct {
	slog.Handler
	n *atomic.Int64
}

func countRetries(t *testing.T) (*slog.Logger, *atomic.Int64) {
	n := new(atomic.Int64)
	return slog.New(retries{testLogger(t).Handler(), n}), n
}

func (r retries) Handle(ctx context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "retrying") {
		r.n.Add(1)
	}
	return r.Handler.Handle(ctx, rec)
}

func (r retries) WithAttrs(attrs []slog.Attr) slog.Handler {
	return retries{r.Handler.WithAttrs(attrs), r.n}
}

func (r retries) WithGroup(name string) slog.Handler { return retries{r.Handler.WithGroup(name), r.n} }

// TestRunStartsBeforeNATS: a service started while NATS is down keeps
// trying to set up its consumer (it does not exit) and handles events once
// NATS is back.
func TestRunStartsBeforeNATS(t *testing.T) {
	s := newStack(t)
	s.srv.Stop()
	nc, err := nats.Connect(s.srv.URL(), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	log, failures := countRetries(t)
	var r recorder
	sub := newSubscriber(t, nc, subscribe.Options{Durable: "early", DeliverAll: true, Logger: log})
	sub.OnVerificationUpdated(func(_ context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
		r.update(ev, d)
		return nil
	})
	stop := run(t, sub)
	natstest.Eventually(t, 30*time.Second, "a failed attempt retried", func() bool { return failures.Load() > 0 })

	s.srv.Start()
	msg := updateMsg(t, update("persona", "inq_1", idv.StatusApproved, 1))
	natstest.Eventually(t, 30*time.Second, "JetStream back", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.b.PublishEvents(ctx, []*nats.Msg{msg})
		return err == nil
	})
	natstest.Eventually(t, 30*time.Second, "the event handled", func() bool {
		n, _ := r.counts()
		return n == 1 && s.settled(t, "early")
	})
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestRunStopsWhileNATSDown: a Run that never got its consumer returns nil
// when its context ends: stopping a service is not a failure.
func TestRunStopsWhileNATSDown(t *testing.T) {
	s := newStack(t)
	s.srv.Stop()
	nc, err := nats.Connect(s.srv.URL(), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	log, failures := countRetries(t)
	sub := newSubscriber(t, nc, subscribe.Options{Durable: "down", Logger: log})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error { return nil })
	stop := run(t, sub)
	natstest.Eventually(t, 30*time.Second, "two failed attempts retried", func() bool { return failures.Load() > 1 })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestRunNoStream: against a NATS where idvbus never created IDV_EVENTS,
// Run fails at once with ErrStreamNotFound instead of waiting for ever.
func TestRunNoStream(t *testing.T) {
	srv := natstest.RunJS(t)
	sub := newSubscriber(t, srv.Connect(t), subscribe.Options{Durable: "nostream"})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sub.Run(ctx); !errors.Is(err, subscribe.ErrStreamNotFound) {
		t.Fatalf("Run = %v, want ErrStreamNotFound", err)
	}
}

// TestRunNotPermitted: a user that may not use the consumer API gets
// ErrNotPermitted from Run (after the JetStream request timed out), not an
// endless retry.
func TestRunNotPermitted(t *testing.T) {
	srv := natstest.RunJSWith(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "admin", Password: "admin-pw"},
			{Username: "reader", Password: "reader-pw", Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
				Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
			}},
		}
	})
	b, err := bus.New(srv.Connect(t, nats.UserInfo("admin", "admin-pw")), config.Default().JetStream, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.EnsureTopology(ctx); err != nil {
		t.Fatal(err)
	}
	sub := newSubscriber(t, srv.Connect(t, nats.UserInfo("reader", "reader-pw")), subscribe.Options{Durable: "denied"})
	sub.OnVerificationUpdated(func(context.Context, subscribe.Event, idv.VerificationUpdated) error { return nil })
	if err := sub.Run(ctx); !errors.Is(err, subscribe.ErrNotPermitted) {
		t.Fatalf("Run = %v, want ErrNotPermitted", err)
	}
}
