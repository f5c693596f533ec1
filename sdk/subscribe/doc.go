// Package subscribe lets a Go service consume idvbus's normalized events (the
// CloudEvents in the JetStream stream IDV_EVENTS) with typed handlers, through
// a durable consumer that remembers across restarts what was handled:
//
//	js, err := jetstream.New(nc) // your connection; jetstream.NewWithDomain for a domain
//	if err != nil { ... }
//	s, err := subscribe.New(js, subscribe.Options{Durable: "billing"})
//	if err != nil { ... }
//	s.OnVerificationUpdated(func(ctx context.Context, ev subscribe.Event, d idv.VerificationUpdated) error {
//		return accounts.SetKYC(ctx, d.ReferenceID, d.Status, ev.ID)
//	})
//	err = s.Run(ctx) // until ctx ends
//
// The package is part of the module github.com/idvbus/idvbus/sdk, which
// needs only nats.go: nothing of the idvbus server comes into a consumer's
// build or module graph. Logs go to [Options.Logger] (log/slog; nil
// discards them).
//
// # Start-up and failures
//
// [Subscriber.Run] may start before NATS or idvbus: it retries transient
// failures (NATS down or slow, a reconnect, a leader election, its consumer
// deleted) with a jittered exponential backoff until its context ends, and
// then returns nil. It returns an error at once only for what no retry can
// fix: [ErrNoHandler], [ErrStreamNotFound], [ErrNotPermitted],
// [ErrConsumerRefused] or a closed connection.
//
// # Acknowledgement
//
// Nothing is acknowledged automatically. A handler returning nil acks its
// event: it is not delivered to this durable consumer again. A handler
// returning an error, or panicking, leaves the event unacknowledged: it is
// delivered again after the next delay of [Options.Backoff], to this process
// or another one sharing the durable consumer. [Options.MaxDeliveries] bounds
// the deliveries (by default it retries forever), and a handler returns
// [Permanent](err) for an event that no retry can help: either way the event
// is terminated (never delivered again) and [Options.OnGiveUp] is called. An
// event that is not a CloudEvent, or whose data does not decode, is
// terminated the same way without reaching a handler. An event of a type with
// no registered handler is acked and skipped.
//
// # Delivery: at least once
//
// An event is acked only after its handler returned nil, so a crash, a lost
// connection or a lost ack delivers it again: a handler may see the same
// event more than once, and must be idempotent. Deduplicate on [Event.ID]: the
// CloudEvent id is derived from the vendor's webhook, so it is the same on
// every redelivery, on a replay of IDV_EVENTS, and when the normalizer
// publishes an event again after a crash. An event ends without a
// handler's success only when its type has no handler (skipped) or when it
// is given up (logged and passed to OnGiveUp); either way it stays in
// IDV_EVENTS for a replay.
//
// # Ordering
//
// Within one process, the events of one verification (same vendor and
// CloudEvent subject) are handled one at a time, in the order they were
// stored, whatever the [Options.Concurrency]; events of different
// verifications run in parallel. Not ordered: a retried event (while it waits
// for its retry, later events of its verification go ahead), events held by a
// process that crashed (they come back after [Options.AckWait]), and events
// of one verification handed to two processes that share a durable consumer.
// To be safe in every case, keep the highest [idv.VerificationUpdated.Revision]
// you applied per verification and ignore an event with a lower one: the
// revision rises by exactly one per status change.
//
// # Durable consumer
//
// [Subscriber.Run] creates the durable consumer [Options.Durable] on
// IDV_EVENTS, or updates it to the current options, keeping where it is: a
// restarted service resumes with the first event it had not acked, however
// long it was down (within IDV_EVENTS's retention). A new durable consumer
// starts with the events stored after its creation, unless
// [Options.DeliverAll] or [Options.StartTime] says otherwise. Every process
// that runs the same Durable shares its events (each event goes to one of
// them) and must use the same options and handlers: the last one started sets
// the consumer's filter.
//
// The consumer is filtered on the server: it receives only the events that
// [Options.Filter] chooses and that have a registered handler (a service with
// only [Subscriber.OnVerificationUpdated] gets no check events).
// Registering a handler later adds its events from the consumer's current
// position on, not those it skipped before.
//
// Only the server's IDV_EVENTS stream is needed: a subscriber never creates
// or changes streams.
package subscribe
