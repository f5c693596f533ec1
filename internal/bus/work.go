package bus

import (
	"context"
	"sync"
	"time"
)

// WorkOptions configure [Puller.Work].
type WorkOptions struct {
	// Concurrency is how many messages are held at once (being handled, or
	// waiting behind one with the same key or for a handler). At least 1.
	Concurrency int
	// Handlers bounds how many calls of handle run at once; 0 means
	// Concurrency. Held messages waiting for a handler are kept alive too.
	Handlers int
	// Key, when set, orders messages: those with the same key are handled
	// one at a time, in the order they were delivered.
	Key func(*Msg) string
	// KeepAlive is how often every held message is marked in progress, so
	// JetStream does not redeliver it while it waits or is handled however
	// long that takes. Keep it well below the consumer's ack wait (a third).
	KeepAlive time.Duration
	// FetchWait bounds one pull request, and so how long a stop waits for
	// the last one; 0 means 1 s.
	FetchWait time.Duration
	// Gate, when set, is asked before each pull how many messages may be
	// taken now; 0 means none, to ask again after wait (at least 10 ms; e.g.
	// while a subscriber's circuit is open).
	Gate func() (n int, wait time.Duration)
	// ShutdownTimeout bounds how long handlers may go on after ctx ended;
	// then the context they were given is cancelled (0: at once).
	ShutdownTimeout time.Duration
	// PinKeepAlive, for a pinned puller ([Bus.PinnedPuller]), is how often a
	// pull request that takes nothing is sent while every slot is held, so a
	// busy but live process keeps its pin; keep it well below the consumer's
	// PinnedTTL (a third). Between those, every pull request keeps the pin,
	// so FetchWait must be below PinnedTTL too. 0 means FetchWait.
	PinKeepAlive time.Duration
}

// Work pulls messages and calls handle for each, up to o.Concurrency at
// once, until ctx ends. It then stops pulling, lets the running handlers
// finish, and naks each message still waiting behind one of them when its
// turn comes (so another process takes it at once, still after its
// predecessor), then returns; a pinned puller then hands its pin over
// ([Puller.Unpin]). handle owns the ack; its context outlives ctx by at most
// o.ShutdownTimeout. A pull error ends Work (after the handlers finished) and
// is returned.
func (p *Puller) Work(ctx context.Context, o WorkOptions, handle func(context.Context, *Msg)) error {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.FetchWait <= 0 {
		o.FetchWait = time.Second
	}
	if o.Handlers < 1 || o.Handlers > o.Concurrency {
		o.Handlers = o.Concurrency
	}
	if o.PinKeepAlive <= 0 {
		o.PinKeepAlive = o.FetchWait
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	w := &worker{
		ctx: ctx, hctx: hctx, o: o, handle: handle,
		slots:    make(chan struct{}, o.Concurrency),
		handlers: make(chan struct{}, o.Handlers),
		held:     map[*Msg]struct{}{},
		busy:     map[string][]*Msg{},
	}
	stopKeep := make(chan struct{})
	keepDone := make(chan struct{})
	go func() { defer close(keepDone); w.keepAlive(stopKeep) }()

	err := w.pull(p)

	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(o.ShutdownTimeout):
		cancel()
		<-done
	}
	close(stopKeep)
	<-keepDone
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer ucancel()
	_ = p.Unpin(uctx) // else a standby waits out PinnedTTL
	return err
}

type worker struct {
	ctx, hctx context.Context
	o         WorkOptions
	handle    func(context.Context, *Msg)
	slots     chan struct{} // one token per held message
	handlers  chan struct{} // one token per running handle call
	wg        sync.WaitGroup

	mu   sync.Mutex
	held map[*Msg]struct{}
	busy map[string][]*Msg // keys being handled → messages waiting behind
}

// pull reserves free slots and fetches that many messages, until ctx ends.
func (w *worker) pull(p *Puller) error {
	for {
		if w.ctx.Err() != nil {
			return nil // select below picks at random among ready cases
		}
		// Wait for one free slot, then take every other free one. While
		// none frees up, a pinned puller keeps its pin.
		if !w.reserve(p) {
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
		if w.o.Gate != nil {
			allowed, wait := w.o.Gate()
			if allowed <= 0 {
				w.release(n)
				select {
				case <-time.After(max(wait, 10*time.Millisecond)):
					continue
				case <-w.ctx.Done():
					return nil
				}
			}
			if n > allowed {
				w.release(n - allowed)
				n = allowed
			}
		}
		got := 0
		err := p.Fetch(w.ctx, n, w.o.FetchWait, func(m *Msg) {
			got++
			w.start(m)
		})
		w.release(n - got)
		if err != nil {
			return err
		}
	}
}

// reserve waits for a free slot and takes it; false if ctx ended first.
func (w *worker) reserve(p *Puller) bool {
	var tick <-chan time.Time
	if p.group != "" {
		t := time.NewTicker(w.o.PinKeepAlive)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case w.slots <- struct{}{}:
			return true
		case <-w.ctx.Done():
			return false
		case <-tick:
			p.keepPin(50 * time.Millisecond) // long enough to reach the server
		}
	}
}

func (w *worker) release(n int) {
	for range n {
		<-w.slots
	}
}

// start holds m and handles it now, or after the message with the same key
// that is being handled.
func (w *worker) start(m *Msg) {
	key := ""
	if w.o.Key != nil {
		key = w.o.Key(m)
	}
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
func (w *worker) run(key string, m *Msg) {
	defer w.wg.Done()
	for {
		if w.ctx.Err() == nil && w.acquire() {
			w.handle(w.hctx, m)
			<-w.handlers
		} else {
			_ = m.Nak() // not started: let another process take it now
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

// acquire waits for a free handler; false if ctx ended first.
func (w *worker) acquire() bool {
	select {
	case w.handlers <- struct{}{}:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// keepAlive marks every held message in progress every o.KeepAlive.
func (w *worker) keepAlive(stop <-chan struct{}) {
	if w.o.KeepAlive <= 0 {
		return
	}
	t := time.NewTicker(w.o.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		msgs := make([]*Msg, 0, len(w.held))
		for m := range w.held {
			msgs = append(msgs, m)
		}
		w.mu.Unlock()
		for _, m := range msgs {
			_ = m.InProgress()
		}
	}
}
