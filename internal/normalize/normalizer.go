// Package normalize is the normalizer: it consumes raw vendor webhooks from
// IDV_RAW, parses them with the vendor's parser, applies them to each
// verification's state in KV IDV_STATE (ordering, duplicates, revisions,
// decision policy: see [Apply]) and publishes CloudEvents to IDV_EVENTS. What
// cannot be parsed goes to IDV_DLQ with its reason; nothing is dropped.
//
// Delivery guarantees:
//   - a raw webhook is acked only after its state was written and its events
//     confirmed by JetStream; until then it is redelivered;
//   - event ids are deterministic, so publishing again after a crash or a
//     replay stores nothing new (Nats-Msg-Id);
//   - the events of a state write are kept in that state's outbox until the
//     next write, so a crash between the state write and the publish is
//     repaired by whichever comes first: the webhook's redelivery or the
//     verification's next webhook;
//   - webhooks of one verification are processed one at a time in stream
//     order (one handler at a time per verification, and one active process
//     per durable consumer through a pinned priority group);
//   - a live process keeps what it holds: every held webhook is marked in
//     progress every third of normalizer.ack_wait and the pin is renewed by
//     every pull (at least every third of normalizer.pinned_ttl), so a
//     crashed process's webhooks go to another (or its restart) within
//     ack_wait, and its pin within pinned_ttl (docs/decisions.md D9, D41).
package normalize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Durable is the name of the normalizer's durable consumer on IDV_RAW, and
// PriorityGroup the name of its pinned priority group.
const (
	Durable       = "normalizer"
	PriorityGroup = "normalizer"
	streamRaw     = bus.StreamRaw
	// attemptTimeout bounds one attempt at a webhook (KV read, write and
	// publish), well inside the ack wait.
	attemptTimeout = 10 * time.Second
	// maxConflicts bounds immediate retries after a compare-and-set conflict.
	maxConflicts = 16
)

// Bus is what the normalizer needs from JetStream; *bus.Bus implements it.
type Bus interface {
	EnsureConsumer(ctx context.Context, o bus.ConsumerOptions) error
	PinnedPuller(ctx context.Context, stream, durable, group, instance string) (*bus.Puller, error)
	ReclaimPin(ctx context.Context, stream, durable, group, instance string) (bool, error)
	PublishEvents(ctx context.Context, msgs []*nats.Msg) (dups int, err error)
	PublishDLQ(ctx context.Context, d bus.DeadLetter) error
	AckFloor(ctx context.Context, stream, durable string) (uint64, error)
}

// Store is the verification state store; *bus.StateStore implements it.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
}

// Options configure a [Normalizer].
type Options struct {
	Config config.Normalizer
	// DuplicateWindow is IDV_EVENTS's duplicate window (jetstream.duplicate_window).
	DuplicateWindow time.Duration
	Sources         []config.Source
	Bus             Bus
	Store           Store
	Log             *zap.Logger
	Metrics         *Metrics
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Tracer makes a span per webhook, a child of the trace the raw webhook
	// carries, and writes its context into the events published; nil is
	// tracing off.
	Tracer *tracing.Tracer
}

// Normalizer turns raw webhooks into CloudEvents. Create it with [New] and
// run it with [Normalizer.Run].
type Normalizer struct {
	o         Options
	sources   map[string]source
	published published
	now       func() time.Time
	// jobs holds the parsed webhook of each delivered message between
	// prepare (on the pull goroutine) and its handler.
	jobs sync.Map // *bus.Msg → *job
}

type source struct {
	name, vendor string
	policy       Policy
	parser       report.Parser // nil: the vendor has no normalizer
}

// New checks the options and builds each source's parser.
func New(o Options) (*Normalizer, error) {
	if o.Bus == nil || o.Store == nil || o.Log == nil || o.Metrics == nil {
		return nil, errors.New("normalize: Bus, Store, Log and Metrics are required")
	}
	if o.Config.Workers < 1 || o.Config.MaxDeliveries < 1 || len(o.Config.Backoff) == 0 {
		return nil, errors.New("normalize: workers, max_deliveries and backoff must be set")
	}
	n := &Normalizer{o: o, sources: map[string]source{}, now: o.Now}
	if n.now == nil {
		n.now = time.Now
	}
	for _, s := range o.Sources {
		opts, err := s.ParserOptions()
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Name, err)
		}
		p, err := vendors.NewParser(s.Vendor, opts)
		if err != nil && !errors.Is(err, report.ErrNoParser) {
			return nil, fmt.Errorf("source %s: %w", s.Name, err)
		}
		pol := Policy(s.DecisionPolicy)
		if pol == "" {
			pol = PolicyVendor
		}
		n.sources[s.Name] = source{name: s.Name, vendor: s.Vendor, policy: pol, parser: p}
	}
	return n, nil
}

// job is one delivered raw webhook on its way through a worker.
type job struct {
	m        *bus.Msg
	start    time.Time
	src      source
	vendor   string // for metrics: the source's vendor, or "unknown"
	report   report.Report
	stateKey string
	// perm, when set, is why the webhook is dead-lettered at once.
	perm, permClass string
	// outcome, events and deadClass are what became of it (for its span).
	outcome, deadClass string
	events             int
}

// Run consumes IDV_RAW until ctx ends, then finishes the webhooks in flight
// (within normalizer.shutdown_timeout), hands its pin over and returns. The
// topology must exist; Run creates or updates the durable consumer.
func (n *Normalizer) Run(ctx context.Context) error {
	cfg := n.o.Config
	co := ConsumerOptions(cfg)
	if err := n.o.Bus.EnsureConsumer(ctx, co); err != nil {
		return err
	}
	if ok, err := n.o.Bus.ReclaimPin(ctx, co.Stream, co.Durable, co.PriorityGroup, cfg.Instance); err != nil {
		n.o.Log.Warn("could not check whether the pin is this instance's; a standby or this process takes over after pinned_ttl",
			zap.String("instance", cfg.Instance), zap.Error(err))
	} else if ok {
		n.o.Log.Info("took over the pin of this instance's previous process", zap.String("instance", cfg.Instance))
	}
	p, err := n.o.Bus.PinnedPuller(ctx, co.Stream, co.Durable, co.PriorityGroup, cfg.Instance)
	if err != nil {
		return err
	}
	return p.Work(ctx, bus.WorkOptions{
		// Held: four webhooks per handler, so the next one is at hand when a
		// handler is free, yet few wait with their ack timer kept alive (and
		// never more than max_ack_pending, beyond which the server delivers
		// nothing); handled by up to workers at once.
		Concurrency: min(cfg.MaxAckPending, 4*cfg.Workers),
		Handlers:    cfg.Workers,
		// One verification's webhooks one at a time, in stream order;
		// webhooks without a verification (dead letters, ignored) in any order.
		Key:       n.prepare,
		KeepAlive: max(cfg.AckWait/3, 100*time.Millisecond),
		// Every pull renews the pin: an idle process pulls again at least
		// this often, a busy one sends a pull that takes nothing.
		FetchWait:       min(time.Second, max(cfg.PinnedTTL/3, 100*time.Millisecond)),
		PinKeepAlive:    max(cfg.PinnedTTL/3, 100*time.Millisecond),
		ShutdownTimeout: cfg.ShutdownTimeout,
	}, func(ctx context.Context, m *bus.Msg) {
		j, ok := n.jobs.LoadAndDelete(m)
		if !ok { // cannot happen: prepare ran first
			j = n.parse(m)
		}
		n.process(ctx, j.(*job))
	})
}

// ConsumerOptions describes the normalizer's durable consumer on IDV_RAW: a
// pinned priority group (one process at a time) with cfg's ack wait, pinned
// ttl and max ack pending.
func ConsumerOptions(cfg config.Normalizer) bus.ConsumerOptions {
	return bus.ConsumerOptions{
		Stream:         streamRaw,
		Durable:        Durable,
		Description:    "idvbus normalizer: raw webhooks to CloudEvents",
		FilterSubjects: []string{"idv.raw.>"},
		AckWait:        cfg.AckWait,
		MaxAckPending:  cfg.MaxAckPending,
		PriorityGroup:  PriorityGroup,
		PinnedTTL:      cfg.PinnedTTL,
	}
}

// prepare parses a delivered webhook and returns its order key (the state
// key of its verification, "" when it has none), so the puller hands one
// verification's webhooks to one handler at a time in stream order. It runs
// on the puller's single pull goroutine.
func (n *Normalizer) prepare(m *bus.Msg) string {
	j := n.parse(m)
	n.jobs.Store(m, j)
	return j.stateKey
}

// parse reads a delivered webhook's source and parses its body.
func (n *Normalizer) parse(m *bus.Msg) *job {
	j := &job{m: m, start: time.Now(), vendor: "unknown"}
	h := m.Header()
	name := first(h[bus.HeaderSource])
	src, ok := n.sources[name]
	switch {
	case !ok:
		j.perm, j.permClass = fmt.Sprintf("source %q is not configured", safeName(name)), "unknown_source"
	case first(h[bus.HeaderVendor]) != src.vendor:
		j.vendor = src.vendor
		j.perm, j.permClass = fmt.Sprintf("stored for vendor %q but source %s is now vendor %s", safeName(first(h[bus.HeaderVendor])), src.name, src.vendor), "vendor_mismatch"
	case src.parser == nil:
		j.vendor = src.vendor
		j.perm, j.permClass = fmt.Sprintf("vendor %s has no normalizer yet", src.vendor), "no_parser"
	default:
		j.src, j.vendor = src, src.vendor
		r, err := src.parser.Parse(m.Data())
		if err != nil {
			j.perm, j.permClass = err.Error(), "invalid_payload"
			break
		}
		j.report = r
		if r.Ignored == "" && r.VerificationID != "" {
			j.stateKey = bus.StateKey(src.vendor, r.VerificationID)
		}
	}
	return j
}

func (n *Normalizer) handle(ctx context.Context, j *job) {
	log := n.o.Log
	switch {
	case j.perm != "":
		n.deadLetter(ctx, j, j.perm, j.permClass)
		return
	case j.stateKey == "":
		n.unmapped(j)
		if err := j.m.Ack(); err != nil {
			log.Debug("ack", zap.Uint64("raw_seq", j.m.StreamSeq), zap.Error(err))
		}
		n.count(j, OutcomeIgnored)
		// Recorded at info: an event name a parser does not know may be a
		// vendor change that deserves a mapping (never the body: names only).
		log.Info("webhook ignored", zap.String("source", j.src.name), zap.Uint64("raw_seq", j.m.StreamSeq),
			zap.String("vendor_event", safeName(j.report.Event)), zap.String("reason", j.report.Ignored))
		return
	}
	n.unmapped(j)
	in := n.input(j)
	var err error
	for conflicts := 0; ; conflicts++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err = n.apply(actx, j, in)
		cancel()
		if !errors.Is(err, bus.ErrConflict) || conflicts >= maxConflicts {
			break
		}
	}
	if err == nil {
		return
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		n.deadLetter(ctx, j, perm.Error(), perm.class)
		return
	}
	n.retry(ctx, j, err)
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct {
	class string
	err   error
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// input builds the state machine's input from a parsed webhook.
func (n *Normalizer) input(j *job) Input {
	h := j.m.Header()
	key := rawKey(j.m)
	received, err := time.Parse(time.RFC3339Nano, first(h[bus.HeaderReceivedAt]))
	if err != nil {
		received = n.now().UTC()
	}
	return Input{
		Source: j.src.name, Vendor: j.src.vendor, Policy: j.src.policy,
		RawKey: key, RawStream: j.m.Stream, RawSeq: j.m.StreamSeq,
		ReceivedAt: received, Report: j.report,
	}
}

// rawKey is the raw dedup key of a webhook (bus.RawKey).
func rawKey(m *bus.Msg) string { return bus.RawKey(m.Header(), m.Stream, m.StreamSeq) }

// apply runs one attempt: read the state, repair its outbox if needed, apply
// the webhook, write the state (compare-and-set), publish, ack.
func (n *Normalizer) apply(ctx context.Context, j *job, in Input) error {
	raw, rev, err := n.o.Store.Get(ctx, j.stateKey)
	if err != nil {
		return err
	}
	var st State
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return &permanentError{"state", fmt.Errorf("state %s is unreadable: %w", j.stateKey, err)}
		}
	}
	if err := n.flushOutbox(ctx, j.stateKey, rev, st); err != nil {
		return err
	}
	in.Now = n.now().UTC()
	next, outs, res, err := Apply(st, in)
	if err != nil {
		return &permanentError{"encode", err}
	}
	metrics := n.o.Metrics
	if res.Duplicate {
		n.ack(j, OutcomeDuplicate)
		metrics.duplicates.WithLabelValues(j.vendor).Inc()
		return nil
	}
	val, err := EncodeState(next)
	if err != nil {
		return &permanentError{"encode", err}
	}
	newRev, err := n.o.Store.Put(ctx, j.stateKey, val, rev)
	if err != nil {
		return err
	}
	if len(outs) > 0 {
		if err := n.publish(ctx, in.Source, next, outs); err != nil {
			// The state (with its outbox) is written: the redelivery finds
			// the event applied and publishes the outbox.
			return err
		}
	}
	n.published.add(j.stateKey, newRev)
	if res.Stale > 0 {
		metrics.stale.WithLabelValues(j.vendor).Add(float64(res.Stale))
	}
	outcome := OutcomeUnchanged
	if len(outs) > 0 {
		outcome = OutcomeEmitted
		j.events = len(outs)
		if res.Statuses > 0 {
			metrics.events.WithLabelValues(j.vendor, string(idv.TypeVerificationUpdated)).Add(float64(res.Statuses))
		}
		if res.Checks > 0 {
			metrics.events.WithLabelValues(j.vendor, string(idv.TypeCheckCompleted)).Add(float64(res.Checks))
		}
	}
	n.ack(j, outcome)
	if ce := n.o.Log.Check(zap.DebugLevel, "webhook normalized"); ce != nil {
		ce.Write(zap.String("source", in.Source), zap.Uint64("raw_seq", in.RawSeq),
			zap.String("vendor_event", safeName(in.Report.Event)), zap.String("status", string(next.Status)),
			zap.Uint64("revision", next.Revision), zap.Int("events", len(outs)), zap.Int("stale", res.Stale))
	}
	return nil
}

// EncodeState encodes a verification's state as stored in KV IDV_STATE.
func EncodeState(s State) ([]byte, error) { return json.Marshal(s) }

// flushOutbox publishes again the events of the state's last emitting
// webhook unless this process knows it published them. Past the duplicate
// window JetStream would store a copy, so there the outbox is skipped when
// the consumer's ack floor shows that webhook was acked (acked implies
// published); otherwise publishing twice beats losing an event.
func (n *Normalizer) flushOutbox(ctx context.Context, key string, rev uint64, st State) error {
	ob := st.Outbox
	if ob == nil || len(ob.Events) == 0 || n.published.has(key, rev) {
		return nil
	}
	if w := n.o.DuplicateWindow; w > 0 && n.now().Sub(ob.Written) > w-time.Minute {
		floor, err := n.o.Bus.AckFloor(ctx, streamRaw, Durable)
		if err != nil {
			return err
		}
		if ob.RawSeq <= floor {
			n.published.add(key, rev)
			return nil
		}
	}
	if err := n.publish(ctx, ob.Source, st, ob.Events); err != nil {
		return err
	}
	n.o.Metrics.republished.Add(float64(len(ob.Events)))
	n.published.add(key, rev)
	return nil
}

// publish encodes outs as CloudEvents and stores them in IDV_EVENTS.
func (n *Normalizer) publish(ctx context.Context, source string, st State, outs []Output) error {
	msgs := make([]*nats.Msg, 0, len(outs))
	for _, o := range outs {
		m, err := EncodeOutput(source, st, o)
		if err != nil {
			return &permanentError{"encode", err}
		}
		n.o.Tracer.InjectNATS(ctx, m.Header)
		msgs = append(msgs, m)
	}
	_, err := n.o.Bus.PublishEvents(ctx, msgs)
	return err
}

func (n *Normalizer) ack(j *job, outcome string) {
	if err := j.m.Ack(); err != nil {
		// The webhook will be redelivered and found applied.
		n.o.Log.Debug("ack", zap.Uint64("raw_seq", j.m.StreamSeq), zap.Error(err))
	}
	n.count(j, outcome)
	n.o.Metrics.latency.WithLabelValues(j.vendor).Observe(time.Since(j.start).Seconds())
}

// retry asks for a redelivery after the configured backoff, or dead-letters
// the webhook once it has been delivered max_deliveries times.
func (n *Normalizer) retry(ctx context.Context, j *job, err error) {
	cfg := n.o.Config
	if j.m.NumDelivered >= uint64(cfg.MaxDeliveries) {
		n.deadLetter(ctx, j, fmt.Sprintf("gave up after %d deliveries: %v", j.m.NumDelivered, err), "max_deliveries")
		return
	}
	delay := n.backoff(j.m.NumDelivered)
	n.o.Log.Warn("webhook not normalized; will retry", zap.String("source", j.src.name),
		zap.Uint64("raw_seq", j.m.StreamSeq), zap.Uint64("attempt", j.m.NumDelivered),
		zap.Duration("retry_in", delay), zap.Error(err))
	if err := j.m.NakWithDelay(delay); err != nil {
		n.o.Log.Debug("nak", zap.Uint64("raw_seq", j.m.StreamSeq), zap.Error(err))
	}
	n.count(j, OutcomeRetried)
}

func (n *Normalizer) backoff(delivered uint64) time.Duration {
	b := n.o.Config.Backoff
	i := int(min(max(delivered, 1), uint64(len(b)))) - 1
	return b[i]
}

// deadLetter stores the webhook in IDV_DLQ with its reason and terminates its
// delivery. If the dead letter cannot be stored, the webhook is redelivered:
// it is never dropped.
func (n *Normalizer) deadLetter(ctx context.Context, j *job, reason, class string) {
	m := j.m
	name := safeName(first(m.Header()[bus.HeaderSource]))
	if name == "" || !config.NamePattern.MatchString(name) {
		name = "unknown"
	}
	dctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	err := n.o.Bus.PublishDLQ(dctx, bus.DeadLetter{
		Stage: bus.StageNormalize, Name: name, Reason: reason,
		OriginalStream: m.Stream, OriginalSubject: m.Subject(), OriginalSeq: m.StreamSeq,
		Attempts: m.NumDelivered, Header: m.Header(), Body: m.Data(),
		// Keep the raw key (PublishDLQ drops Nats-Msg-Id), so a replay of the
		// dead letter gives the event ids the webhook would have given.
		Extra: map[string]string{bus.HeaderRawKey: rawKey(m)},
	})
	if err != nil {
		n.o.Log.Error("dead letter not stored; will retry", zap.String("source", name),
			zap.Uint64("raw_seq", m.StreamSeq), zap.Error(err))
		_ = m.NakWithDelay(n.backoff(m.NumDelivered))
		n.count(j, OutcomeRetried)
		return
	}
	if err := m.Term(reason); err != nil {
		n.o.Log.Debug("term", zap.Uint64("raw_seq", m.StreamSeq), zap.Error(err))
	}
	n.count(j, OutcomeDeadLettered)
	j.deadClass = class
	n.o.Metrics.deadLetters.WithLabelValues(j.vendor, class).Inc()
	n.o.Log.Warn("webhook dead-lettered", zap.String("source", name), zap.Uint64("raw_seq", m.StreamSeq),
		zap.String("subject", m.Subject()), zap.String("reason", reason))
}

func (n *Normalizer) unmapped(j *job) {
	if len(j.report.Unmapped) == 0 {
		return
	}
	n.o.Metrics.unmapped.WithLabelValues(j.vendor).Add(float64(len(j.report.Unmapped)))
	n.o.Log.Info("vendor values not recognised", zap.String("source", j.src.name),
		zap.Uint64("raw_seq", j.m.StreamSeq), zap.String("vendor_event", safeName(j.report.Event)),
		zap.Strings("values", j.report.Unmapped))
}

// EncodeOutput encodes one output of a verification's state as the
// binary-mode CloudEvent message the normalizer publishes (subject set).
func EncodeOutput(source string, st State, o Output) (*nats.Msg, error) {
	m, err := events.EncodeNATS(o.Type, events.Meta{
		ID: o.ID, Source: source, Vendor: st.Vendor, Subject: st.VerificationID, Time: o.Time,
	}, o.Data)
	if err != nil {
		return nil, err
	}
	m.Subject = o.Subject
	return m, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// safeName bounds a vendor-controlled name (an event name, a header) before
// it goes into a log line or a dead-letter reason: at most 64 bytes of
// printable ASCII.
func safeName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// published remembers, per state key, the KV revision whose outbox this
// process has published, so the next webhook of the verification does not
// publish it again. Two generations bound its size.
type published struct {
	mu       sync.Mutex
	cur, old map[string]uint64
}

const publishedGeneration = 1 << 16

func (p *published) add(key string, rev uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || len(p.cur) >= publishedGeneration {
		p.old, p.cur = p.cur, make(map[string]uint64, 1024)
	}
	p.cur[key] = rev
}

func (p *published) has(key string, rev uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.cur[key]; ok {
		return r == rev
	}
	r, ok := p.old[key]
	return ok && r == rev
}
