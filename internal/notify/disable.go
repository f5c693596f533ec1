package notify

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/bus"
)

// disabledPoll is how often a notifier reads a subscriber's disabled mark,
// and how long an event held for a disabled subscriber waits before it comes
// back: a resume (or a 410 seen by another notifier process) takes effect
// within it, for one KV read per subscriber every 5 s.
const disabledPoll = 5 * time.Second

// disabledRefresh is how often a standing mark is rewritten so the
// IDV_DELIVERIES TTL (events_max_age, at least hours) never expires it while
// a notifier runs.
const disabledRefresh = time.Hour

// disabledMark is the IDV_DELIVERIES value of a disabled subscriber
// (bus.DisabledKey): when and on which event it answered 410.
type disabledMark struct {
	DisabledAt time.Time `json:"disabled_at"`
	Status     int       `json:"status"`
	EventID    string    `json:"event_id,omitempty"`
	StreamSeq  uint64    `json:"stream_seq,omitempty"`
	// RefreshedAt is when a notifier last rewrote the mark (disabledRefresh).
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
}

// disable marks the subscriber disabled after it answered status (410 Gone)
// to event id: in memory at once, in IDV_DELIVERIES for every notifier
// process and across restarts. If the mark cannot be stored, this process
// still stops; a restart would then try once more and be answered 410 again.
func (d *deliverer) disable(ctx context.Context, m *bus.Msg, id string, status int) {
	d.disableMu.Lock()
	defer d.disableMu.Unlock()
	first := !d.disabled.Swap(true)
	b, _ := json.Marshal(disabledMark{DisabledAt: d.o.Now().UTC(), Status: status, EventID: id, StreamSeq: m.StreamSeq})
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := d.o.Store.PutDisabled(sctx, d.cfg.Name, b); err != nil {
		d.log.Error("disabled mark not stored: this notifier stops delivering, but a restart would try again", zap.Error(err))
	}
	d.o.Metrics.disabled.WithLabelValues(d.cfg.Name).Set(1)
	if first {
		d.log.Error("subscriber answered 410 Gone: disabled, nothing more is delivered to it until an operator resumes it (idvctl subscriber resume "+d.cfg.Name+")",
			zap.String("event_id", id), zap.Uint64("stream_seq", m.StreamSeq), zap.Int("status", status))
	}
}

// holdDisabled puts m back, without an attempt and without ever
// dead-lettering it: the consumer keeps its place for the resume.
func (d *deliverer) holdDisabled(m *bus.Msg, id string) {
	// Up to 10 % more, so held events do not all come back at once.
	wait := time.Duration(float64(disabledPoll) * (1 + rand.Float64()*0.1))
	if err := m.NakWithDelay(wait); err != nil {
		d.log.Debug("nak", zap.String("event_id", id), zap.Error(err))
	}
	d.o.Metrics.postponed.WithLabelValues(d.cfg.Name, postponedDisabled).Inc()
}

// watchDisabled polls the subscriber's mark until ctx ends.
func (d *deliverer) watchDisabled(ctx context.Context) {
	t := time.NewTicker(disabledPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.syncDisabled(ctx)
		}
	}
}

// syncDisabled reads the mark and follows it: disabled while it stands
// (rewriting it when it is old, so its TTL does not expire it), enabled
// once an operator removed it. A read error changes nothing.
func (d *deliverer) syncDisabled(ctx context.Context) {
	// Not interleaved with disable: a read from before its write must not
	// undo it.
	d.disableMu.Lock()
	defer d.disableMu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	b, rev, err := d.o.Store.GetDisabled(sctx, d.cfg.Name)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("disabled mark unreadable; keeping the current state", zap.Bool("disabled", d.disabled.Load()), zap.Error(err))
		}
		return
	}
	gauge := d.o.Metrics.disabled.WithLabelValues(d.cfg.Name)
	if b == nil {
		gauge.Set(0)
		if d.disabled.Swap(false) {
			d.log.Info("subscriber resumed by an operator: delivering again")
		}
		return
	}
	gauge.Set(1)
	var mark disabledMark
	_ = json.Unmarshal(b, &mark) // an unreadable mark still disables
	if !d.disabled.Swap(true) {
		d.log.Warn("subscriber is disabled (it answered 410 Gone): nothing is delivered to it until an operator resumes it (idvctl subscriber resume "+d.cfg.Name+")",
			zap.Time("disabled_at", mark.DisabledAt), zap.String("event_id", mark.EventID))
	}
	last := mark.DisabledAt
	if mark.RefreshedAt.After(last) {
		last = mark.RefreshedAt
	}
	if d.o.Now().Sub(last) < disabledRefresh {
		return
	}
	mark.RefreshedAt = d.o.Now().UTC()
	nb, _ := json.Marshal(mark)
	if err := d.o.Store.RefreshDisabled(sctx, d.cfg.Name, nb, rev); err != nil && !errors.Is(err, bus.ErrConflict) {
		d.log.Warn("disabled mark not refreshed", zap.Error(err))
	}
}
