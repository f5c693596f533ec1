package subscribe

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/idvbus/idvbus/sdk/idv"
)

// handle decodes one delivered event, calls its handler and settles the
// event: the one place that decides ack, retry or give-up.
func (s *Subscriber) handle(ctx context.Context, h handlers, m *delivery) {
	ev, call, err := h.bind(m)
	switch {
	case err != nil:
		s.giveUp(m, ev, err, err.Error())
		return
	case call == nil:
		// Only a type idvbus added after this code was written gets here:
		// the consumer's filter leaves out the types without a handler.
		if err := m.Ack(); err != nil {
			s.log.Debug("ack failed", append(fields(ev), errAttr(err))...)
		}
		s.log.Debug("event without handler acked", fields(ev)...)
		return
	}
	stack, err := safeCall(ctx, call)
	switch {
	case err == nil:
		if err := m.Ack(); err != nil {
			s.log.Warn("ack failed; the event will be delivered again", append(fields(ev), errAttr(err))...)
		}
	case stack != nil:
		// A panic is logged where it is caught, with its stack, then retried.
		s.log.Error("handler panicked", append(fields(ev), errAttr(err), slog.String("stack", string(stack)))...)
		s.retry(ctx, m, ev, err)
	default:
		s.retry(ctx, m, ev, err)
	}
}

// bind decodes m and returns its handler's call, or a nil call when its
// type has no handler. An error (wrapping [ErrInvalidEvent]) means the event
// can never be handled.
func (h handlers) bind(m *delivery) (Event, func(context.Context) error, error) {
	ev := metaOf(m)
	e, err := idv.FromNATS(m.Headers(), m.Data())
	if err != nil {
		return ev, nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	ev = withCloudEvent(ev, e)
	switch {
	case ev.Type == idv.TypeVerificationUpdated && h.updated != nil:
		d, err := idv.DecodeVerificationUpdated(e)
		if err != nil {
			return ev, nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
		}
		return ev, func(ctx context.Context) error { return h.updated(ctx, ev, d) }, nil
	case ev.Type == idv.TypeCheckCompleted && h.check != nil:
		d, err := idv.DecodeCheckCompleted(e)
		if err != nil {
			return ev, nil, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
		}
		return ev, func(ctx context.Context) error { return h.check(ctx, ev, d) }, nil
	}
	return ev, nil, nil
}

// safeCall runs a handler and turns a panic into an error wrapping
// [ErrPanic], returning the panicking goroutine's stack with it.
func safeCall(ctx context.Context, call func(context.Context) error) (stack []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err, stack = fmt.Errorf("%w: %v", ErrPanic, r), debug.Stack()
		}
	}()
	return nil, call(ctx)
}

// retry settles an event whose handler failed: delivered again after its
// backoff, or given up when it is permanent or out of deliveries.
func (s *Subscriber) retry(ctx context.Context, m *delivery, ev Event, err error) {
	switch {
	case ctx.Err() != nil:
		// Cancelled by the shutdown timeout, not the event's fault: let
		// another process take it now, and do not count it against it.
		if nerr := m.Nak(); nerr != nil {
			s.log.Debug("nak failed", append(fields(ev), errAttr(nerr))...)
		}
		s.log.Warn("handler cancelled at shutdown; the event will be delivered again", append(fields(ev), errAttr(err))...)
	case IsPermanent(err):
		// The handler's error text is not put in the server's advisory: it
		// may carry anything; it goes to the log and OnGiveUp.
		s.giveUp(m, ev, err, "the handler returned a permanent error")
	case s.o.MaxDeliveries > 0 && m.numDelivered >= uint64(s.o.MaxDeliveries):
		s.giveUp(m, ev, fmt.Errorf("%w (%d): %w", ErrMaxDeliveries, m.numDelivered, err),
			fmt.Sprintf("the handler failed on %d deliveries", m.numDelivered))
	default:
		delay := s.o.backoff(m.numDelivered)
		if nerr := m.NakWithDelay(delay); nerr != nil {
			// Without the nak it comes back after the ack wait instead.
			s.log.Debug("nak failed", append(fields(ev), errAttr(nerr))...)
		}
		s.log.Warn("handler failed; retrying", append(fields(ev), slog.Duration("retry_in", delay), errAttr(err))...)
	}
}

// giveUp terminates an event that will never be handled, logs it and tells
// OnGiveUp. reason goes to the server's termination advisory.
func (s *Subscriber) giveUp(m *delivery, ev Event, err error, reason string) {
	if terr := m.term(reason); terr != nil {
		s.log.Warn("terminate failed; the event will be delivered again", append(fields(ev), errAttr(terr))...)
	}
	s.log.Error("event given up", append(fields(ev), errAttr(err))...)
	if s.o.OnGiveUp == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("OnGiveUp panicked", append(fields(ev), slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))...)
		}
	}()
	s.o.OnGiveUp(ev, err)
}

// fields are the log attributes that identify an event; never its data.
func fields(ev Event) []any {
	return []any{
		slog.String("event_id", ev.ID), slog.String("type", string(ev.Type)), slog.String("vendor", ev.Vendor),
		slog.String("verification_id", ev.Subject), slog.Uint64("stream_seq", ev.StreamSeq),
		slog.Uint64("attempt", ev.NumDelivered),
	}
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }
