package subscribe

import (
	"errors"
)

// Errors a [Subscriber] reports, to [Options.OnGiveUp] or from [Subscriber.Run].
var (
	// ErrInvalidEvent: the message is not a CloudEvent (it wraps
	// [idv.ErrNotCloudEvent]) or its data does not decode as its type's; no
	// retry can change that, so it is terminated at once.
	ErrInvalidEvent = errors.New("subscribe: invalid event")
	// ErrMaxDeliveries: the handler failed on each of [Options.MaxDeliveries]
	// deliveries.
	ErrMaxDeliveries = errors.New("subscribe: max deliveries reached")
	// ErrPanic: the handler panicked; it counts as a failure and is retried.
	ErrPanic = errors.New("subscribe: handler panicked")
	// ErrNoHandler: Run was called with no handler for any event the filter
	// chooses.
	ErrNoHandler = errors.New("subscribe: no handler for the events the filter chooses")
)

// Permanent marks a handler error that no retry can fix (say, the event
// names an account that does not exist): the event is terminated at once,
// without waiting for [Options.MaxDeliveries], and [Options.OnGiveUp] is
// called with the error. errors.Is and errors.As see through it to err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err is, or wraps, an error made by [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
