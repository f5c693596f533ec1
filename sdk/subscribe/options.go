package subscribe

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Options configure a [Subscriber]. Only Durable is required.
type Options struct {
	// Durable names the durable consumer on IDV_EVENTS: lower-case letters,
	// digits, '-' and '_', at most 64 characters, not starting with
	// "notify-" (the notifier's consumers). Processes that use the same
	// Durable share its events; give each service its own.
	Durable string
	// Filter chooses the events by vendor, type, status and check (see
	// [idv.Filter]); the zero Filter chooses the three decisions (approved,
	// declined, needs_review) of every vendor.
	Filter idv.Filter
	// Concurrency is how many events this process holds at once (being
	// handled, or waiting behind an event of the same verification).
	// 0 means [DefaultConcurrency].
	Concurrency int
	// AckWait is how long JetStream waits for an event's outcome before it
	// delivers the event again. A running subscriber keeps the events it
	// holds alive however long their handlers take, so this only bounds how
	// soon the events of a crashed process go to another one. At least 1 s;
	// 0 means [DefaultAckWait].
	AckWait time.Duration
	// Backoff are the delays before an event whose handler failed is
	// delivered again: the n-th retry waits Backoff[n-1], the last value
	// repeating. Empty means [DefaultBackoff].
	Backoff []time.Duration
	// MaxDeliveries, when above 0, is how many times an event is handed to
	// its handler at most: after that many failed deliveries it is
	// terminated and OnGiveUp is called. 0 retries forever.
	MaxDeliveries int
	// MaxAckPending bounds the events of the durable consumer handed out and
	// not yet acked, across all its processes, including those waiting for a
	// retry; when it is reached, new events wait. 0 means
	// [DefaultMaxAckPending].
	MaxAckPending int
	// DeliverAll makes a new durable consumer start with the first event
	// still stored in IDV_EVENTS, and StartTime (when set) with the events
	// stored since then. By default a new durable consumer starts with the
	// events stored after its creation. Neither changes a consumer that
	// exists: it always resumes where it is.
	DeliverAll bool
	StartTime  time.Time
	// ShutdownTimeout bounds how long handlers may go on after Run's
	// context ended; then the context they were given is cancelled.
	// 0 means [DefaultShutdownTimeout].
	ShutdownTimeout time.Duration
	// OnGiveUp, when set, is called for each event the subscriber
	// terminates: not a CloudEvent or undecodable data (err wraps
	// [ErrInvalidEvent]), [Permanent] returned by its handler, or
	// MaxDeliveries reached (err wraps [ErrMaxDeliveries] and the last
	// handler error). The event stays in IDV_EVENTS; the durable consumer
	// will not deliver it again. OnGiveUp runs on the handler's goroutine
	// and should not block.
	OnGiveUp func(ev Event, err error)
	// Logger receives the subscriber's logs (retried failures at warn,
	// terminated events at error); nil discards them. Event bodies are never
	// logged.
	Logger *slog.Logger
}

// Defaults of [Options].
const (
	// DefaultConcurrency: one event at a time is the simplest to reason
	// about (every event in stream order), and enough for a few events per
	// second; raise it when handlers wait on I/O.
	DefaultConcurrency = 1
	// DefaultAckWait: held events are kept alive while handled, so this
	// only delays the takeover of a crashed process's events; 30 s is
	// quick enough without risking redelivery on a slow network.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxAckPending: events waiting for a retry hold a slot for up
	// to the longest backoff, so the window is wide enough that a few
	// failing events do not stop the others.
	DefaultMaxAckPending = 1000
	// DefaultShutdownTimeout leaves a handler time to finish its work and
	// still fits in the usual 30 s a process is given to stop.
	DefaultShutdownTimeout = 10 * time.Second
)

// DefaultBackoff returns the default retry delays: 1 s, 5 s, 30 s, 2 min,
// then every 5 min. A blip (a deadlock, a restarting database) is retried
// within seconds; a longer outage is probed every five minutes, without
// spinning through the events.
func DefaultBackoff() []time.Duration {
	return []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute}
}

// durableName is what Options.Durable must match: it becomes a JetStream
// consumer name, which allows no dots, spaces or wildcards.
var durableName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// notifierPrefix starts the durable consumers of idvbus's notifier
// (notify-<subscriber>): a subscriber taking one over would steal its events.
const notifierPrefix = "notify-"

// Validate reports every invalid option, one per line.
func (o Options) Validate() error {
	var errs []error
	switch {
	case o.Durable == "":
		errs = append(errs, errors.New("durable: required"))
	case !durableName.MatchString(o.Durable):
		errs = append(errs, fmt.Errorf("durable: %q must match %s", o.Durable, durableName))
	case strings.HasPrefix(o.Durable, notifierPrefix):
		errs = append(errs, fmt.Errorf("durable: %q: the prefix %q is the notifier's", o.Durable, notifierPrefix))
	}
	if err := o.Filter.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("filter: %w", err))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: %d is negative", o.Concurrency))
	}
	if o.AckWait != 0 && o.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ack wait: %s is below 1s", o.AckWait))
	}
	for i, d := range o.Backoff {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("backoff[%d]: %s is not positive", i, d))
		}
	}
	if o.MaxDeliveries < 0 {
		errs = append(errs, fmt.Errorf("max deliveries: %d is negative", o.MaxDeliveries))
	}
	if o.MaxAckPending < 0 {
		errs = append(errs, fmt.Errorf("max ack pending: %d is negative", o.MaxAckPending))
	}
	if o.DeliverAll && !o.StartTime.IsZero() {
		errs = append(errs, errors.New("deliver all and start time: set at most one"))
	}
	if o.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout: %s is negative", o.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with every zero value that has a default filled in.
func (o Options) withDefaults() Options {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultBackoff()
	} else {
		o.Backoff = slices.Clone(o.Backoff) // the caller may reuse its slice
	}
	if o.MaxAckPending == 0 {
		o.MaxAckPending = DefaultMaxAckPending
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// backoff is the delay before the delivery that follows delivery n (1-based).
func (o Options) backoff(n uint64) time.Duration {
	i := int(min(n, uint64(len(o.Backoff)))) - 1
	return o.Backoff[max(i, 0)]
}
