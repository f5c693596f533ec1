package subscribe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/sdk/idv"
)

const (
	// fetchWait bounds one pull request: it is also how long Run may take to
	// return after its context ended, and an idle subscriber sends one pull
	// per fetchWait, which costs the server nothing worth counting.
	fetchWait = time.Second
	// retryMin and retryMax bound the wait before consuming again after the
	// server refused a pull (e.g. its consumer was deleted, or a cluster is
	// electing a leader): quick at first, then no more than twice a minute.
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// ErrRunning is returned by [Subscriber.Run] while another Run of the same
// Subscriber is going on.
var ErrRunning = errors.New("subscribe: already running")

// Subscriber consumes IDV_EVENTS through one durable consumer and calls the
// registered handler of each event's type. Create it with [New], register
// handlers, then call [Subscriber.Run]. See the package documentation for
// its acknowledgement, delivery and ordering guarantees.
type Subscriber struct {
	o   Options
	nc  *nats.Conn
	bus *bus.Bus
	log *zap.Logger

	mu       sync.Mutex
	started  bool // handlers can no longer change
	running  bool
	handlers handlers
}

// handlers are the registered handlers; nil for a type without one.
type handlers struct {
	updated func(context.Context, Event, idv.VerificationUpdated) error
	check   func(context.Context, Event, idv.CheckCompleted) error
}

// New checks o and binds a subscriber to nc; it does no I/O. The connection
// stays the caller's: close it after Run returned.
func New(nc *nats.Conn, o Options) (*Subscriber, error) {
	if nc == nil {
		return nil, errors.New("subscribe: nil NATS connection")
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	o = o.withDefaults()
	log := o.Logger.With(zap.String("durable", o.Durable))
	// Only the consumer API is used: the stream configuration is not ours.
	b, err := bus.New(nc, config.JetStream{}, log)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return &Subscriber{o: o, nc: nc, bus: b, log: log}, nil
}

// OnVerificationUpdated registers h for [idv.TypeVerificationUpdated] events:
// a verification's status changed. h returns nil once the event is handled
// (it is acked), an error to have it retried, or [Permanent] to give it up.
// Register before Run: it panics once Run has been called.
func (s *Subscriber) OnVerificationUpdated(h func(ctx context.Context, ev Event, d idv.VerificationUpdated) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustNotHaveStarted()
	s.handlers.updated = h
}

// OnCheckCompleted registers h for [idv.TypeCheckCompleted] events: one check
// of a verification reported a result. The filter must choose check events
// (Options.Filter.Checks or Types). h returns as for
// [Subscriber.OnVerificationUpdated]. Register before Run: it panics once
// Run has been called.
func (s *Subscriber) OnCheckCompleted(h func(ctx context.Context, ev Event, d idv.CheckCompleted) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustNotHaveStarted()
	s.handlers.check = h
}

func (s *Subscriber) mustNotHaveStarted() {
	if s.started {
		panic("subscribe: handler registered after Run")
	}
}

// Run creates or updates the durable consumer and handles events until ctx
// ends. It then stops taking events, hands those it held but had not started
// back to the server for another process, waits for the running handlers
// (their context is cancelled after Options.ShutdownTimeout) and returns nil.
//
// Run returns an error at once when the consumer cannot be set up (no
// IDV_EVENTS stream, no permission, no handler for the filter's events:
// [ErrNoHandler]). Later failures (a lost connection, a consumer deleted
// under it) are logged and retried until ctx ends, unless the connection was
// closed.
func (s *Subscriber) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running, s.started = true, true
	h := s.handlers
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	subjects, err := subjects(s.o.Filter, h)
	if err != nil {
		return err
	}
	co := bus.ConsumerOptions{
		Stream:         bus.StreamEvents,
		Durable:        s.o.Durable,
		Description:    "idvbus subscribe: " + s.o.Durable,
		FilterSubjects: subjects,
		AckWait:        s.o.AckWait,
		MaxAckPending:  s.o.MaxAckPending,
		DeliverNew:     !s.o.DeliverAll && s.o.StartTime.IsZero(),
		StartTime:      s.o.StartTime,
	}
	if err := s.bus.EnsureConsumer(ctx, co); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	s.log.Info("subscriber running", zap.Strings("subjects", subjects), zap.Int("concurrency", s.o.Concurrency))
	wait := retryMin
	for {
		start := time.Now()
		if err == nil {
			err = s.consume(ctx, h)
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.nc.IsClosed() {
			return fmt.Errorf("subscribe: %w", nats.ErrConnectionClosed)
		}
		if time.Since(start) > retryMax {
			wait = retryMin // it had worked for a while: a new incident
		}
		s.log.Warn("consuming failed; retrying", zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
		err = s.bus.EnsureConsumer(ctx, co)
	}
}

// consume pulls and handles events until ctx ends or a pull fails.
func (s *Subscriber) consume(ctx context.Context, h handlers) error {
	p, err := s.bus.Puller(ctx, bus.StreamEvents, s.o.Durable)
	if err != nil {
		return err
	}
	return p.Work(ctx, bus.WorkOptions{
		Concurrency: s.o.Concurrency,
		Key:         orderKey,
		// A third of the ack wait: two keep-alives may be lost before the
		// server gives a held event to another process.
		KeepAlive:       s.o.AckWait / 3,
		FetchWait:       fetchWait,
		ShutdownTimeout: s.o.ShutdownTimeout,
	}, func(ctx context.Context, m *bus.Msg) { s.handle(ctx, h, m) })
}

// subjects returns the consumer's filter subjects: those of f, restricted to
// the event types that have a handler (the others would only be acked).
func subjects(f idv.Filter, h handlers) ([]string, error) {
	n := f.Normalized()
	var chosen []string
	for _, subj := range n.Subjects() {
		if typ, _, _, ok := idv.ParseSubject(subj); ok && !slices.Contains(chosen, typ) {
			chosen = append(chosen, typ)
		}
	}
	r := idv.Filter{Vendors: n.Vendors}
	if slices.Contains(chosen, idv.TypeVerificationUpdated) && h.updated != nil {
		r.Types, r.Statuses = append(r.Types, idv.TypeVerificationUpdated), n.Statuses
	}
	if slices.Contains(chosen, idv.TypeCheckCompleted) && h.check != nil {
		r.Types, r.Checks = append(r.Types, idv.TypeCheckCompleted), n.Checks
	}
	if len(r.Types) == 0 {
		return nil, fmt.Errorf("%w (%v)", ErrNoHandler, chosen)
	}
	return r.Subjects(), nil
}
