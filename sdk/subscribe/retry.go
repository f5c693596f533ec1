package subscribe

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Errors [Subscriber.Run] returns at once, because no retry can fix them.
var (
	// ErrStreamNotFound: the JetStream has no IDV_EVENTS stream (idvbus
	// has not run against this NATS, or the JetStream domain is wrong).
	ErrStreamNotFound = errors.New("subscribe: stream IDV_EVENTS not found")
	// ErrNotPermitted: the connection's user may not use the JetStream
	// consumer API of IDV_EVENTS.
	ErrNotPermitted = errors.New("subscribe: not permitted")
	// ErrConsumerRefused: JetStream refused the durable consumer's
	// configuration (it conflicts with the server's or the account's
	// limits, or with the consumer that exists).
	ErrConsumerRefused = errors.New("subscribe: consumer refused")
)

// permanent returns the error Run reports for err when no retry can fix it,
// and nil when err is transient (a timeout, no responder while JetStream
// starts, a reconnect, a leader election, a 5xx of the JetStream API). nc,
// when set, tells a timeout that is a denied request (NATS drops a request
// its user may not publish, and only reports it asynchronously).
func permanent(err error, nc *nats.Conn) error {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return join(ErrStreamNotFound, err)
	case errors.Is(err, nats.ErrConnectionClosed):
		return err
	case errors.Is(err, nats.ErrPermissionViolation):
		return join(ErrNotPermitted, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		// The denied subject is the consumer API of IDV_EVENTS
		// ($JS.API.CONSUMER.<op>.IDV_EVENTS..., or $JS.<domain>.API...).
		if last := lastError(nc); errors.Is(last, nats.ErrPermissionViolation) &&
			strings.Contains(last.Error(), ".API.CONSUMER.") && strings.Contains(last.Error(), "."+idv.StreamEvents) {
			return join(ErrNotPermitted, last)
		}
		return nil
	case errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDoesNotExist):
		return nil // deleted while Run set it up: set it up again
	case errors.As(err, &api) && api.Code >= 400 && api.Code < 500 && api.Code != 408:
		return join(ErrConsumerRefused, err)
	}
	return nil
}

func lastError(nc *nats.Conn) error {
	if nc == nil {
		return nil
	}
	return nc.LastError()
}

func join(sentinel, err error) error { return &runError{sentinel, err} }

// runError is a sentinel with its cause: errors.Is sees both.
type runError struct{ sentinel, err error }

func (e *runError) Error() string   { return e.sentinel.Error() + ": " + e.err.Error() }
func (e *runError) Unwrap() []error { return []error{e.sentinel, e.err} }

// backoff is a jittered exponential backoff: each wait doubles from min up
// to max, and is drawn at random from its upper half, so that the processes
// of a service restarted together do not retry in step.
type backoff struct {
	min, max, cur time.Duration
}

// next returns the next wait.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

// reset starts the doubling again from min.
func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
