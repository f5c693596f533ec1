package ingest

import (
	"net/netip"
	"sync"
)

// budget bounds the body bytes being read (and held until the PubAck) at
// once, in total and per client address. Reservations never wait: a request
// that does not fit is refused at once, since waiting would let a flood of
// slow senders queue up goroutines and connections instead of bytes.
//
// The bounds are what the handler has allocated for bodies, not what the
// kernel has buffered: a request is admitted before its body is read, for
// the bytes it declared (Content-Length) or, for a chunked body, step by step
// as it grows.
type budget struct {
	total, perIP int64

	mu    sync.Mutex
	used  int64
	byIP  map[netip.Addr]int64
	onUse func(used int64) // reports the total in use (a gauge); may be nil
}

func newBudget(total, perIP int64, onUse func(int64)) *budget {
	return &budget{total: total, perIP: perIP, byIP: map[netip.Addr]int64{}, onUse: onUse}
}

// lease is one request's share of the budget.
type lease struct {
	b  *budget
	ip netip.Addr
	n  int64
}

// acquire reserves n bytes for ip, or returns nil if they do not fit.
func (b *budget) acquire(ip netip.Addr, n int64) *lease {
	l := &lease{b: b, ip: ip}
	if !l.grow(n) {
		return nil
	}
	return l
}

// grow adds n bytes to the lease if they fit in both bounds.
func (l *lease) grow(n int64) bool {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	ipUsed := b.byIP[l.ip]
	if b.used+n > b.total || ipUsed+n > b.perIP {
		return false
	}
	b.used += n
	b.byIP[l.ip] = ipUsed + n
	l.n += n
	if b.onUse != nil {
		b.onUse(b.used)
	}
	return true
}

// release returns the whole lease. It is safe on a nil lease and idempotent.
func (l *lease) release() {
	if l == nil || l.n == 0 {
		return
	}
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= l.n
	if left := b.byIP[l.ip] - l.n; left > 0 {
		b.byIP[l.ip] = left
	} else {
		delete(b.byIP, l.ip) // the map holds only addresses reading now
	}
	l.n = 0
	if b.onUse != nil {
		b.onUse(b.used)
	}
}
