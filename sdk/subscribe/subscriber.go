package subscribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/sdk/idv"
)

// fetchWait bounds one pull request: it is also how long Run may take to
// return after its context ended, and an idle subscriber sends one pull per
// fetchWait, which costs the server nothing worth counting.
const fetchWait = time.Second

// ErrRunning is returned by [Subscriber.Run] while another Run of the same
// Subscriber is going on.
var ErrRunning = errors.New("subscribe: already running")

// Subscriber consumes IDV_EVENTS through one durable consumer and calls the
// registered handler of each event's type. Create it with [New], register
// handlers, then call [Subscriber.Run]. See the package documentation for
// its acknowledgement, delivery and ordering guarantees.
type Subscriber struct {
	o   Options
	js  jetStream
	log *slog.Logger
	// retryMin and retryMax bound Run's backoff (tests shorten them).
	retryMin, retryMax time.Duration

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

// New checks o and binds a subscriber to js, the caller's JetStream (made
// with jetstream.New or jetstream.NewWithDomain on the caller's own
// connection); it does no I/O. The connection stays the caller's: close it
// after Run returned.
func New(js jetstream.JetStream, o Options) (*Subscriber, error) {
	if js == nil {
		return nil, errors.New("subscribe: nil JetStream")
	}
	return newSubscriber(js, o)
}

func newSubscriber(js jetStream, o Options) (*Subscriber, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	o = o.withDefaults()
	return &Subscriber{o: o, js: js, log: o.Logger.With(slog.String("durable", o.Durable)),
		retryMin: retryMin, retryMax: retryMax}, nil
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
// Transient failures, while setting the consumer up or later (a JetStream
// answer that comes late, NATS down or reconnecting, a leader election, the
// consumer deleted under it), are logged and retried with a jittered
// exponential backoff (250 ms doubling up to 30 s) until ctx ends, when Run
// returns nil: a service may start before NATS is reachable. Run returns an
// error at once only for what no retry can fix: no handler for the filter's
// events ([ErrNoHandler]), no IDV_EVENTS stream ([ErrStreamNotFound]), no
// permission ([ErrNotPermitted]), a consumer configuration JetStream refuses
// ([ErrConsumerRefused]), or a closed connection (nats.ErrConnectionClosed).
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
	cc := s.o.consumerConfig(subjects)
	bo := backoff{min: s.retryMin, max: s.retryMax}
	var cons jetstream.Consumer
	running := false // the consumer was set up once: later errors are never fatal
	for {
		start := time.Now()
		if cons == nil {
			cons, err = ensureConsumer(ctx, s.js, cc)
		}
		if err == nil {
			if !running {
				running = true
				s.log.Info("subscriber running", slog.Any("subjects", subjects), slog.Int("concurrency", s.o.Concurrency))
			}
			err = s.consume(ctx, cons, h)
			cons = nil // look it up again: it may be gone
		}
		if ctx.Err() != nil {
			return nil
		}
		if conn := s.js.Conn(); conn != nil && conn.IsClosed() {
			return fmt.Errorf("subscribe: %w", nats.ErrConnectionClosed)
		}
		if !running {
			if perr := permanent(err, s.js.Conn()); perr != nil {
				return fmt.Errorf("subscribe: %w", perr)
			}
		}
		if time.Since(start) > s.retryMax {
			bo.reset() // it had worked for a while: a new incident
		}
		wait := bo.next()
		s.log.Warn("subscriber failed; retrying", slog.Duration("retry_in", wait), slog.String("error", errText(err)))
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// errText is err's text, "" for nil (consume may end without an error when
// the server ends a pull).
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// consume pulls and handles events until ctx ends or a pull fails.
func (s *Subscriber) consume(ctx context.Context, cons jetstream.Consumer, h handlers) error {
	return work(ctx, cons, workOptions{
		concurrency: s.o.Concurrency,
		key:         orderKey,
		// A third of the ack wait: two keep-alives may be lost before the
		// server gives a held event to another process.
		keepAlive:       s.o.AckWait / 3,
		fetchWait:       fetchWait,
		shutdownTimeout: s.o.ShutdownTimeout,
	}, func(ctx context.Context, m *delivery) { s.handle(ctx, h, m) })
}

// subjects returns the consumer's filter subjects: those of f, restricted to
// the event types that have a handler (the others would only be acked).
func subjects(f idv.Filter, h handlers) ([]string, error) {
	n := f.Normalized()
	var chosen []idv.EventType
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
