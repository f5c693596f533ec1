// Package notify is the notifier: it delivers normalized events from
// IDV_EVENTS to each configured subscriber as signed HTTP webhooks.
//
// Each subscriber has its own durable consumer, notify-<name>, filtered on
// the server by the subscriber's filter, so a slow or dead subscriber never
// holds up another. Guarantees, per subscriber:
//   - at least once: an event is acked only after a 2xx answer or after it
//     was stored in IDV_DLQ (idv.dlq.notify.<name>); a notifier that dies
//     mid-delivery leaves the event to be redelivered, with the same
//     webhook-id (the CloudEvent id), so receivers deduplicate on it;
//   - signed: Standard Webhooks headers (webhook-id, webhook-timestamp,
//     webhook-signature with one v1 signature per configured secret);
//   - retried: 408, 429, 3xx, 5xx, timeouts and connection errors are retried
//     on the subscriber's schedule with jitter, never sooner than its
//     Retry-After; other 4xx but 410 are dead-lettered at once; an event is
//     dead-lettered when its attempts or its age run out, with the last
//     status, error and attempt count in headers;
//   - paused, not burned: after repeated failures the subscriber's circuit
//     opens; events then wait (no attempt is used up) until a probe
//     succeeds. A 429 or 503 with Retry-After pauses the whole subscriber
//     for that long;
//   - disabled on 410 Gone (Standard Webhooks): the subscriber gets nothing
//     more, its consumer keeps its place and nothing is dead-lettered for it,
//     until an operator resumes it (idvctl subscriber resume); the mark is
//     kept in IDV_DELIVERIES, so a restart does not re-enable it;
//   - ordered per verification while the subscriber is healthy: within one
//     notifier process, events of one verification are delivered one at a
//     time in stream order. A retried event can be overtaken by a later one;
//     receivers order by the event's revision.
//
// Attempts are counted in KV IDV_DELIVERIES, written only when an attempt
// failed, so redeliveries that were not attempts (a paused subscriber, a
// restart) never use one up.
package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/retry"
	"github.com/idvbus/idvbus/internal/tracing"
)

// Durable returns the name of a subscriber's durable consumer on IDV_EVENTS.
func Durable(subscriber string) string { return "notify-" + subscriber }

// Bus is what the notifier needs from JetStream; *bus.Bus implements it.
type Bus interface {
	EnsureConsumer(ctx context.Context, o bus.ConsumerOptions) error
	Puller(ctx context.Context, stream, durable string) (*bus.Puller, error)
	PublishDLQ(ctx context.Context, d bus.DeadLetter) error
}

// Store keeps the failed attempts of events and the disabled marks of
// subscribers; *bus.DeliveryStore implements it.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	GetDisabled(ctx context.Context, subscriber string) ([]byte, uint64, error)
	PutDisabled(ctx context.Context, subscriber string, value []byte) error
	RefreshDisabled(ctx context.Context, subscriber string, value []byte, rev uint64) error
}

// Options configure a [Notifier].
type Options struct {
	Config      config.Notifier
	Subscribers []config.Subscriber
	Bus         Bus
	Store       Store
	Log         *zap.Logger
	Metrics     *Metrics
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Tracer makes a span per delivery attempt, a child of the trace the
	// event carries, and sends its traceparent with the request; nil is
	// tracing off.
	Tracer *tracing.Tracer
}

// Notifier delivers events to every configured subscriber. Create it with
// [New] and run it with [Notifier.Run].
type Notifier struct {
	o    Options
	subs []*deliverer
}

// New checks the options and prepares each subscriber (signer, rate limit,
// circuit breaker, HTTP client).
func New(o Options) (*Notifier, error) {
	if o.Bus == nil || o.Store == nil || o.Log == nil || o.Metrics == nil {
		return nil, errors.New("notify: Bus, Store, Log and Metrics are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Notifier{o: o}
	for _, s := range o.Subscribers {
		d, err := newDeliverer(o, s)
		if err != nil {
			return nil, fmt.Errorf("subscriber %s: %w", s.Name, err)
		}
		n.subs = append(n.subs, d)
	}
	return n, nil
}

// consumerOptions describes a subscriber's durable consumer.
func (n *Notifier) consumerOptions(s config.Subscriber) (bus.ConsumerOptions, error) {
	deliverNew, at, err := s.StartAt()
	if err != nil {
		return bus.ConsumerOptions{}, err
	}
	subjects := s.Filter.Subjects()
	if len(subjects) == 0 {
		// To JetStream no filter means every subject.
		return bus.ConsumerOptions{}, errors.New("the filter chooses no event")
	}
	// Plus the subject on which an operator puts back a dead letter for
	// this subscriber only (idvctl dlq replay).
	subjects = append(subjects, bus.RedeliverSubject(s.Name))
	return bus.ConsumerOptions{
		Stream:         bus.StreamEvents,
		Durable:        Durable(s.Name),
		Description:    "idvbus notifier: webhooks to subscriber " + s.Name,
		FilterSubjects: subjects,
		AckWait:        n.o.Config.AckWait,
		MaxAckPending:  s.MaxAckPending,
		DeliverNew:     deliverNew,
		StartTime:      at,
	}, nil
}

// EnsureConsumers creates or updates every subscriber's durable consumer. A
// new consumer starts where the subscriber's start setting says; an existing
// one keeps its place. Run it before events can be published for the first
// time (the all-in-one does), so "start: new" misses nothing.
func (n *Notifier) EnsureConsumers(ctx context.Context) error {
	for _, d := range n.subs {
		co, err := n.consumerOptions(d.cfg)
		if err != nil {
			return fmt.Errorf("subscriber %s: %w", d.cfg.Name, err)
		}
		if err := n.o.Bus.EnsureConsumer(ctx, co); err != nil {
			return fmt.Errorf("subscriber %s: %w", d.cfg.Name, err)
		}
	}
	return nil
}

// Orphans returns the notifier consumers (notify-*) on IDV_EVENTS whose
// subscriber is no longer configured. They are kept, not deleted (a typo in
// the config must not lose a subscriber's place); an operator removes them.
func (n *Notifier) Orphans(ctx context.Context, names func(ctx context.Context, stream string) ([]string, error)) ([]string, error) {
	all, err := names(ctx, bus.StreamEvents)
	if err != nil {
		return nil, err
	}
	configured := map[string]bool{}
	for _, d := range n.subs {
		configured[Durable(d.cfg.Name)] = true
	}
	var out []string
	for _, c := range all {
		if strings.HasPrefix(c, Durable("")) && !configured[c] {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Run delivers to every subscriber until ctx ends, then lets attempts in
// flight finish (within the shutdown timeout) and returns. The topology and,
// through [Notifier.EnsureConsumers], the subscribers' consumers must exist. A subscriber whose consumer cannot be reached (NATS down) is
// retried on its own; the others go on.
func (n *Notifier) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range n.subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.runSubscriber(ctx, d)
		}()
	}
	wg.Wait()
	return nil
}

// runSubscriber (re)binds one subscriber's consumer and delivers until ctx
// ends, waiting longer after each failure ([retry.Default]).
func (n *Notifier) runSubscriber(ctx context.Context, d *deliverer) {
	restart := false
	_ = retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		co, err := n.consumerOptions(d.cfg)
		if err != nil {
			return err
		}
		// EnsureConsumers made it before Run; after a failure it may be
		// gone (deleted, or a new server).
		if restart {
			if err := n.o.Bus.EnsureConsumer(ctx, co); err != nil {
				return err
			}
		}
		restart = true
		p, err := n.o.Bus.Puller(ctx, bus.StreamEvents, co.Durable)
		if err != nil {
			return err
		}
		d.log.Info("delivering", zap.String("consumer", co.Durable), zap.Strings("filter_subjects", co.FilterSubjects),
			zap.Int("concurrency", d.cfg.Concurrency))
		err = d.run(ctx, p)
		if ctx.Err() != nil {
			return nil // stopped, not failed
		}
		if err == nil {
			err = errors.New("delivery stopped")
		}
		return err
	}, func(_ int, wait time.Duration, err error) {
		d.log.Warn("subscriber stopped; restarting", zap.Duration("retry_in", wait), zap.Error(err))
	})
}
