package subscribe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// workOptions configure [work].
type workOptions struct {
	// concurrency is how many messages are held at once (being handled, or
	// waiting behind one with the same key). At least 1.
	concurrency int
	// key orders messages: those with the same key are handled one at a
	// time, in the order they were delivered; "" has no order.
	key func(*delivery) string
	// keepAlive is how often every held message is marked in progress, so
	// JetStream does not redeliver it while it waits or is handled however
	// long that takes. Keep it well below the consumer's ack wait.
	keepAlive time.Duration
	// fetchWait bounds one pull request, and so how long a stop waits for
	// the last one.
	fetchWait time.Duration
	// shutdownTimeout bounds how long handlers may go on after ctx ended;
	// then the context they were given is cancelled.
	shutdownTimeout time.Duration
}

// work pulls messages from cons and calls handle for each, up to
// o.concurrency at once, until ctx ends. It then stops pulling, lets the
// running handlers finish, and naks each message still waiting behind one
// of them when its turn comes (so another process takes it at once, still
// after its predecessor), then returns. handle owns the ack; its context
// outlives ctx by at most o.shutdownTimeout. A pull error ends work (after
// the handlers finished) and is returned.
func work(ctx context.Context, cons jetstream.Consumer, o workOptions, handle func(context.Context, *delivery)) error {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	w := &worker{
		ctx: ctx, o: o, hctx: hctx, handle: handle,
		slots: make(chan struct{}, max(o.concurrency, 1)),
		held:  map[*delivery]struct{}{},
		busy:  map[string][]*delivery{},
	}
	stopKeep := make(chan struct{})
	keepDone := make(chan struct{})
	go func() { defer close(keepDone); w.keepAlive(stopKeep) }()

	err := w.pull(cons)

	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	timer := time.NewTimer(o.shutdownTimeout)
	select {
	case <-done:
	case <-timer.C:
		cancel()
		<-done
	}
	timer.Stop()
	close(stopKeep)
	<-keepDone
	return err
}

type worker struct {
	ctx, hctx context.Context
	o         workOptions
	handle    func(context.Context, *delivery)
	slots     chan struct{} // one token per held message
	wg        sync.WaitGroup

	mu   sync.Mutex
	held map[*delivery]struct{}
	busy map[string][]*delivery // keys being handled → messages waiting behind
}

// pull reserves free slots and fetches that many messages, until ctx ends.
func (w *worker) pull(cons jetstream.Consumer) error {
	for {
		if w.ctx.Err() != nil {
			return nil // the select below picks at random among ready cases
		}
		// Wait for one free slot, then take every other free one.
		select {
		case w.slots <- struct{}{}:
		case <-w.ctx.Done():
			return nil
		}
		n := 1
	more:
		for n < cap(w.slots) {
			select {
			case w.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		got, err := w.fetch(cons, n)
		w.release(n - got)
		if err != nil {
			return err
		}
	}
}

// fetch asks for up to n messages and starts each as it arrives, returning
// when n arrived or after fetchWait. Messages that arrive after ctx ended
// are nak'ed at once for another process to take.
func (w *worker) fetch(cons jetstream.Consumer, n int) (got int, err error) {
	// Not FetchContext(ctx): when ctx ends, the client would stop listening
	// while the server's pull request stays open, and what the server sends
	// into it would wait for the ack wait. Listen until the request expires
	// instead, and give back what arrives after ctx ended.
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(w.o.fetchWait))
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	for jm := range batch.Messages() {
		if w.ctx.Err() != nil {
			_ = jm.Nak()
			continue
		}
		got++
		w.start(newDelivery(jm))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return got, fmt.Errorf("fetch: %w", err)
	}
	return got, nil
}

func (w *worker) release(n int) {
	for range n {
		<-w.slots
	}
}

// start holds m and handles it now, or after the message with the same key
// that is being handled.
func (w *worker) start(m *delivery) {
	key := w.o.key(m)
	w.mu.Lock()
	w.held[m] = struct{}{}
	if key != "" {
		if q, ok := w.busy[key]; ok {
			w.busy[key] = append(q, m)
			w.mu.Unlock()
			return
		}
		w.busy[key] = nil
	}
	w.mu.Unlock()
	w.wg.Add(1)
	go w.run(key, m)
}

// run handles m, then the messages that queued behind it under key.
func (w *worker) run(key string, m *delivery) {
	defer w.wg.Done()
	for {
		if w.ctx.Err() != nil {
			_ = m.Nak() // not started: let another process take it now
		} else {
			w.handle(w.hctx, m)
		}
		w.mu.Lock()
		delete(w.held, m)
		<-w.slots
		if key == "" {
			w.mu.Unlock()
			return
		}
		q := w.busy[key]
		if len(q) == 0 {
			delete(w.busy, key)
			w.mu.Unlock()
			return
		}
		m, w.busy[key] = q[0], q[1:]
		w.mu.Unlock()
	}
}

// keepAlive marks every held message in progress every o.keepAlive.
func (w *worker) keepAlive(stop <-chan struct{}) {
	if w.o.keepAlive <= 0 {
		return
	}
	t := time.NewTicker(w.o.keepAlive)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		msgs := make([]*delivery, 0, len(w.held))
		for m := range w.held {
			msgs = append(msgs, m)
		}
		w.mu.Unlock()
		for _, m := range msgs {
			_ = m.InProgress()
		}
	}
}
