package notify

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Reasons an event is dead-lettered: the reason label of
// idvbus_notifier_dead_letters_total.
const (
	ReasonRejected          = "rejected"           // a 4xx other than 408, 410 and 429
	ReasonAttemptsExhausted = "attempts_exhausted" // retry.max_attempts reached
	ReasonAgeExhausted      = "age_exhausted"      // the next attempt would come after retry.max_age
	ReasonInvalidEvent      = "invalid_event"      // not a CloudEvent: cannot be delivered
)

// Why an event waits without an attempt: the reason label of
// idvbus_notifier_postponed_total.
const (
	postponedCircuitOpen = "circuit_open"
	postponedRetryAfter  = "retry_after"
	postponedDisabled    = "disabled"
)

// HeaderLastStatus is the HTTP status of the last attempt of a dead-lettered
// event (absent when no attempt got an answer).
const HeaderLastStatus = "Idv-Last-Status"

// storeTimeout bounds one read or write of IDV_DELIVERIES or IDV_DLQ.
const storeTimeout = 5 * time.Second

// errShutdown marks an attempt cut short by shutdown: not the subscriber's
// failure, so the breaker ignores it.
var errShutdown = errors.New("shutting down")

// errFailed is a retryable failure, as the breaker counts it.
var errFailed = errors.New("delivery failed")

// deliverer delivers to one subscriber.
type deliverer struct {
	cfg     config.Subscriber
	o       Options
	log     *zap.Logger
	signer  *webhookauth.StandardSigner
	client  *http.Client
	limiter *rate.Limiter                          // nil: no rate limit
	breaker *gobreaker.TwoStepCircuitBreaker[bool] // nil: no breaker
	// openedAt is when the circuit last opened (UnixNano).
	openedAt atomic.Int64
	// pausedUntil is the end of a pause the subscriber asked for with
	// Retry-After (UnixNano).
	pausedUntil atomic.Int64
	// disabled is set while the subscriber is disabled (it answered 410
	// Gone); see disable.go.
	disabled  atomic.Bool
	disableMu sync.Mutex // serializes disable and syncDisabled
	// active counts events being handled (for the half-open probe).
	active atomic.Int32
	// stopping is closed when the notifier is asked to stop: waits end and
	// no new attempt starts.
	stopping <-chan struct{}
	// redeliver is the subscriber's own put-back subject
	// (bus.RedeliverSubject), built once: it is compared on every event.
	redeliver string
}

func newDeliverer(o Options, s config.Subscriber) (*deliverer, error) {
	signer, err := webhookauth.NewStandardSigner(s.Secrets)
	if err != nil {
		return nil, err
	}
	perSecond, err := s.RateLimit()
	if err != nil {
		return nil, err
	}
	if len(s.Retry.Schedule) == 0 || s.Concurrency < 1 || s.Timeout <= 0 || s.Retry.MaxAttempts < 1 || s.Retry.MaxAge <= 0 {
		return nil, errors.New("concurrency, timeout and retry (schedule, max_attempts, max_age) must be set")
	}
	d := &deliverer{
		cfg: s, o: o,
		log:    o.Log.With(zap.String("subscriber", s.Name)),
		signer: signer,
		client: newClient(s.Concurrency, s.Timeout),

		redeliver: bus.RedeliverSubject(s.Name),
	}
	if perSecond > 0 {
		// A burst of one: the rate holds from the first request on.
		d.limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	o.Metrics.disabled.WithLabelValues(s.Name).Set(0)
	circuit := o.Metrics.circuit.WithLabelValues(s.Name)
	circuit.Set(float64(gobreaker.StateClosed))
	if s.Breaker.Failures > 0 {
		d.breaker = gobreaker.NewTwoStepCircuitBreaker[bool](gobreaker.Settings{
			Name:        s.Name,
			MaxRequests: 1, // one probe at a time while half-open
			Timeout:     s.Breaker.Cooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= uint32(s.Breaker.Failures)
			},
			IsExcluded: func(err error) bool { return errors.Is(err, errShutdown) },
			// Called with the breaker's lock held: only record.
			OnStateChange: func(_ string, from, to gobreaker.State) {
				if to == gobreaker.StateOpen {
					d.openedAt.Store(o.Now().UnixNano())
				}
				circuit.Set(float64(to))
				d.log.Warn("circuit "+to.String(), zap.String("from", from.String()))
			},
		})
	}
	return d, nil
}

// run delivers until ctx ends.
func (d *deliverer) run(ctx context.Context, p *bus.Puller) error {
	d.stopping = ctx.Done()
	// A disabled mark is read before the first pull, so a restart never
	// delivers to a disabled subscriber; then it is polled.
	// (If that read fails, delivery starts; a disabled subscriber answers
	// 410 again and is disabled again.)
	d.syncDisabled(ctx)
	wctx, cancel := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Add(1)
	go func() { defer watching.Done(); d.watchDisabled(wctx) }()
	defer func() { cancel(); watching.Wait() }()
	return p.Work(ctx, bus.WorkOptions{
		Concurrency: d.cfg.Concurrency,
		// One verification's events one at a time, in stream order.
		Key:             func(m *bus.Msg) string { return m.Header().Get("ce-vendor") + "/" + m.Header().Get("ce-subject") },
		KeepAlive:       max(d.o.Config.AckWait/3, 100*time.Millisecond),
		Gate:            d.gate,
		ShutdownTimeout: d.o.Config.ShutdownTimeout,
	}, d.handle)
}

// gate tells the puller how many events to take now: none while the
// subscriber is paused or its circuit is open, one while a probe decides.
func (d *deliverer) gate() (int, time.Duration) {
	if d.disabled.Load() {
		return 0, disabledPoll
	}
	now := d.o.Now()
	if wait, _ := d.blocked(now); wait > 0 {
		return 0, min(wait, 5*time.Second)
	}
	if d.breaker != nil && d.breaker.State() == gobreaker.StateHalfOpen {
		if d.active.Load() > 0 {
			return 0, 100 * time.Millisecond
		}
		return 1, 0
	}
	return d.cfg.Concurrency, 0
}

// blocked returns how long deliveries must wait, and why: the subscriber's
// Retry-After, or an open circuit.
func (d *deliverer) blocked(now time.Time) (time.Duration, string) {
	if until := time.Unix(0, d.pausedUntil.Load()); now.Before(until) {
		return until.Sub(now), postponedRetryAfter
	}
	if d.breaker != nil && d.breaker.State() == gobreaker.StateOpen {
		left := time.Unix(0, d.openedAt.Load()).Add(d.cfg.Breaker.Cooldown).Sub(now)
		return max(left, 100*time.Millisecond), postponedCircuitOpen
	}
	return 0, ""
}

// record is what IDV_DELIVERIES keeps about an event's failed attempts.
type record struct {
	Attempts   int       `json:"attempts"`
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	LastAt     time.Time `json:"last_at"`
}

// handle makes at most one attempt at m and decides its fate: ack,
// retry later (nak with delay), or dead-letter. It is the one place where
// that decision is made.
func (d *deliverer) handle(ctx context.Context, m *bus.Msg) {
	d.active.Add(1)
	defer d.active.Add(-1)
	now := d.o.Now()
	e, err := decode(m)
	if err != nil {
		d.deadLetter(ctx, m, ReasonInvalidEvent, "not a CloudEvent: cannot be delivered", 0, 0)
		return
	}
	id := e.ID()
	putBack := m.Subject() == d.redeliver
	if !putBack && !d.cfg.Filter.MatchSubject(m.Subject()) {
		// The consumer's subject filter chooses; this only guards a filter
		// that changed while the event was in flight. An event put back
		// for this subscriber by an operator is delivered whatever the filter.
		_ = m.Ack()
		return
	}
	if d.disabled.Load() {
		d.holdDisabled(m, id)
		return
	}
	var rec record
	if m.NumDelivered > 1 {
		rec = d.load(ctx, m)
	}
	if wait, why := d.blocked(now); wait > 0 {
		d.postpone(ctx, m, id, rec, wait, why)
		return
	}
	if err := d.waitRate(ctx); err != nil {
		_ = m.Nak() // stopping: another process takes it now
		return
	}
	done := func(error) {}
	if d.breaker != nil {
		if done, err = d.breaker.Allow(); err != nil {
			wait, _ := d.blocked(d.o.Now())
			d.postpone(ctx, m, id, rec, max(wait, 100*time.Millisecond), postponedCircuitOpen)
			return
		}
	}
	body, hdr, err := encode(ctx, &e, d.cfg.Format)
	if err != nil {
		done(errShutdown)
		d.deadLetter(ctx, m, ReasonInvalidEvent, "cannot encode the CloudEvent: "+err.Error(), rec.Attempts, rec.LastStatus)
		return
	}
	start := time.Now()
	ctx, span := d.startAttempt(ctx, m, id, e.Type(), rec.Attempts+1, hdr)
	defer span.end()
	out := send(ctx, d.client, d.cfg.URL, d.signer, id, body, hdr, d.cfg.Timeout, d.o.Now())
	span.answered(out)
	if !out.delivered() && d.isStopping() && ctx.Err() != nil {
		done(errShutdown)
		_ = m.Nak() // cut short by shutdown: not an attempt
		return
	}
	attempt := rec.Attempts + 1
	d.o.Metrics.attempts.WithLabelValues(d.cfg.Name, out.class).Inc()
	d.o.Metrics.attemptTime.WithLabelValues(d.cfg.Name).Observe(time.Since(start).Seconds())
	switch {
	case out.delivered():
		done(nil)
		if err := m.Ack(); err != nil {
			d.log.Warn("ack failed; the event may be delivered again", zap.String("event_id", id), zap.Error(err))
		}
		// Not for an event an operator put back: its wait in IDV_DLQ is no delivery latency.
		if t := receivedAt(e.Data()); !t.IsZero() && !putBack {
			d.o.Metrics.latency.WithLabelValues(d.cfg.Name).Observe(d.o.Now().Sub(t).Seconds())
		}
		d.log.Debug("delivered", zap.String("event_id", id), zap.Uint64("stream_seq", m.StreamSeq),
			zap.Int("attempt", attempt), zap.Int("status", out.status))
	case out.status == http.StatusGone:
		done(nil) // the subscriber answered: it is up, and wants no more
		d.disable(ctx, m, id, out.status)
		d.holdDisabled(m, id)
	case out.rejected():
		done(nil) // the subscriber answered: it is up
		d.deadLetter(ctx, m, ReasonRejected, "rejected by the subscriber: "+out.detail, attempt, out.status)
	default:
		done(errFailed)
		d.retry(ctx, m, id, attempt, out, now)
	}
}

// retry schedules the next attempt after a retryable failure, or
// dead-letters the event when its attempts or its age run out.
func (d *deliverer) retry(ctx context.Context, m *bus.Msg, id string, attempt int, out outcome, now time.Time) {
	if out.retryAfter > 0 && (out.status == http.StatusTooManyRequests || out.status == http.StatusServiceUnavailable) {
		// The subscriber as a whole asked for a pause, counted from its answer.
		d.pause(d.o.Now().Add(out.retryAfter))
	}
	if attempt >= d.cfg.Retry.MaxAttempts {
		d.deadLetter(ctx, m, ReasonAttemptsExhausted,
			"gave up after "+strconv.Itoa(attempt)+" attempts; last: "+out.detail, attempt, out.status)
		return
	}
	delay := max(jitter(d.cfg.Retry.Schedule[min(attempt, len(d.cfg.Retry.Schedule))-1], d.cfg.Retry.Jitter), out.retryAfter)
	if now.Add(delay).After(m.Timestamp.Add(d.cfg.Retry.MaxAge)) {
		d.deadLetter(ctx, m, ReasonAgeExhausted,
			"max age "+d.cfg.Retry.MaxAge.String()+" reached after "+strconv.Itoa(attempt)+" attempts; last: "+out.detail, attempt, out.status)
		return
	}
	d.save(ctx, m, record{Attempts: attempt, LastStatus: out.status, LastError: out.detail, LastAt: now})
	traceRetryIn(ctx, delay)
	if err := m.NakWithDelay(delay); err != nil {
		d.log.Warn("nak failed; the event comes back after the ack wait", zap.String("event_id", id), zap.Error(err))
	}
	d.o.Metrics.retries.WithLabelValues(d.cfg.Name).Inc()
	d.log.Warn("delivery failed; will retry", zap.String("event_id", id), zap.Uint64("stream_seq", m.StreamSeq),
		zap.Int("attempt", attempt), statusField(out.status), zap.String("error", out.detail),
		zap.Duration("retry_in", delay))
}

// pause holds every delivery to the subscriber until until, unless a longer
// pause is already on: concurrent answers never shorten one.
func (d *deliverer) pause(until time.Time) {
	u := until.UnixNano()
	for {
		cur := d.pausedUntil.Load()
		if u <= cur || d.pausedUntil.CompareAndSwap(cur, u) {
			return
		}
	}
}

// postpone puts m back without an attempt for about wait, or dead-letters
// it when that would take it past its max age.
func (d *deliverer) postpone(ctx context.Context, m *bus.Msg, id string, rec record, wait time.Duration, why string) {
	// Up to 10 % more, so held events do not all come back at once.
	wait = time.Duration(float64(wait) * (1 + rand.Float64()*0.1))
	if d.o.Now().Add(wait).After(m.Timestamp.Add(d.cfg.Retry.MaxAge)) {
		last := rec.LastError
		if last == "" {
			last = "no attempt answered"
		}
		d.deadLetter(ctx, m, ReasonAgeExhausted, "max age "+d.cfg.Retry.MaxAge.String()+" reached while the subscriber was paused ("+why+") after "+
			strconv.Itoa(rec.Attempts)+" attempts; last: "+last, rec.Attempts, rec.LastStatus)
		return
	}
	if err := m.NakWithDelay(wait); err != nil {
		d.log.Debug("nak", zap.String("event_id", id), zap.Error(err))
	}
	d.o.Metrics.postponed.WithLabelValues(d.cfg.Name, why).Inc()
}

// deadLetter stores m in IDV_DLQ (idv.dlq.notify.<subscriber>) with why it
// gave up, and ends its delivery. If the dead letter cannot be stored, the
// event is redelivered later: it is never dropped.
func (d *deliverer) deadLetter(ctx context.Context, m *bus.Msg, reason, detail string, attempts, status int) {
	var extra map[string]string
	if status != 0 {
		extra = map[string]string{HeaderLastStatus: strconv.Itoa(status)}
	}
	subject := m.Subject()
	if s := m.Header().Get(bus.HeaderOriginalSubject); s != "" && subject == d.redeliver {
		// A redelivered event: record the subject it was published on.
		subject = s
	}
	dctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	err := d.o.Bus.PublishDLQ(dctx, bus.DeadLetter{
		Stage: bus.StageNotify, Name: d.cfg.Name, Reason: detail,
		OriginalStream: m.Stream, OriginalSubject: subject, OriginalSeq: m.StreamSeq,
		Attempts: uint64(attempts), Header: m.Header(), Extra: extra, Body: m.Data(),
	})
	id := m.Header().Get("ce-id")
	if err != nil {
		d.log.Error("dead letter not stored; will retry", zap.String("event_id", id), zap.Uint64("stream_seq", m.StreamSeq), zap.Error(err))
		_ = m.NakWithDelay(d.cfg.Retry.Schedule[0])
		return
	}
	if err := m.Term(detail); err != nil {
		d.log.Debug("term", zap.Uint64("stream_seq", m.StreamSeq), zap.Error(err))
	}
	d.o.Metrics.deadLetters.WithLabelValues(d.cfg.Name, reason).Inc()
	traceDeadLetter(ctx, reason)
	d.log.Warn("event dead-lettered", zap.String("event_id", id), zap.Uint64("stream_seq", m.StreamSeq),
		zap.String("reason", reason), zap.Int("attempts", attempts), statusField(status), zap.String("error", detail))
}

// load reads m's failed attempts; a store error counts as none (more
// attempts, never fewer).
func (d *deliverer) load(ctx context.Context, m *bus.Msg) record {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	b, err := d.o.Store.Get(sctx, bus.DeliveryKey(d.cfg.Name, m.StreamSeq))
	var rec record
	if err == nil && b != nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		d.log.Warn("attempt record unreadable; counting from zero", zap.Uint64("stream_seq", m.StreamSeq), zap.Error(err))
		return record{}
	}
	return rec
}

func (d *deliverer) save(ctx context.Context, m *bus.Msg, rec record) {
	b, _ := json.Marshal(rec)
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := d.o.Store.Put(sctx, bus.DeliveryKey(d.cfg.Name, m.StreamSeq), b); err != nil {
		d.log.Warn("attempt record not stored; this attempt will not count", zap.Uint64("stream_seq", m.StreamSeq), zap.Error(err))
	}
}

// waitRate waits for the subscriber's rate limit; it fails when the notifier
// is stopping.
func (d *deliverer) waitRate(ctx context.Context) error {
	if d.limiter == nil {
		return nil
	}
	r := d.limiter.Reserve()
	wait := r.Delay()
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-d.stopping:
	case <-ctx.Done():
	}
	r.Cancel()
	return errShutdown
}

func (d *deliverer) isStopping() bool {
	select {
	case <-d.stopping:
		return true
	default:
		return false
	}
}

// jitter varies d by up to frac either way (frac <= 0: not at all).
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}

// receivedAt reads the received_at of an event's data (both event types
// carry it); zero when absent.
func receivedAt(data []byte) time.Time {
	var v struct {
		ReceivedAt time.Time `json:"received_at"`
	}
	_ = json.Unmarshal(data, &v)
	return v.ReceivedAt
}

// statusField logs an HTTP status, or nothing when there was no answer.
func statusField(status int) zap.Field {
	if status == 0 {
		return zap.Skip()
	}
	return zap.Int("status", status)
}

// decode reads the CloudEvent m carries as sdk-go's event, for the HTTP
// binding.
func decode(m *bus.Msg) (cloudevents.Event, error) {
	e, err := idv.FromNATS(m.Header(), m.Data())
	if err != nil {
		return cloudevents.Event{}, err
	}
	return events.ToSDK(e)
}
