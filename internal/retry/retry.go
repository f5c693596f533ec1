// Package retry is idvbus's one way to retry an operation against NATS until
// it succeeds: a growing, jittered wait between failures, so that the
// replicas of a service that all lost NATS at once do not all come back at
// the same instant (no lock-step thundering herd).
//
// Guarantee: [Do] never returns while the operation keeps failing with a
// retryable error and ctx is live; it returns nil after a success, the
// error of a [Permanent] failure at once, or the last error joined with
// ctx's error when ctx ends.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is the wait between failed attempts: Initial after the first,
// doubling after each further one up to Max. Each wait is jittered down by
// up to half ("equal jitter"), so it lies in [d/2, d].
type Backoff struct {
	Initial, Max time.Duration
}

// Default is the services' backoff when NATS or JetStream is unavailable:
// 1 s (a restarted server is usually back within a second or two), doubling
// to 15 s (a cluster election or a longer outage is noticed within that
// much of its end, while a dead NATS sees at most one attempt per process
// every 7.5-15 s).
var Default = Backoff{Initial: time.Second, Max: 15 * time.Second}

// Delay is the jittered wait after the attempt-th consecutive failure
// (attempt counts from 1).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent wraps err so that [Do] returns it (unwrapped) at once instead of
// retrying. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// Do calls op until it returns nil or a [Permanent] error, or ctx ends.
// After each retryable failure it calls failed (when not nil) with the
// attempt number, the wait before the next attempt and the error, so the
// caller logs it in its own words, then waits. An op that ran for longer
// than b.Max before it failed (a consumer that worked for hours, then lost
// NATS) starts the count again: its next wait is the shortest.
func Do(ctx context.Context, b Backoff, op func(ctx context.Context) error, failed func(attempt int, wait time.Duration, err error)) error {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := op(ctx)
		if err == nil {
			return nil
		}
		var p *permanent
		if errors.As(err, &p) {
			return p.err
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		if time.Since(start) > b.Max {
			attempt = 1
		}
		wait := b.Delay(attempt)
		if failed != nil {
			failed(attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
