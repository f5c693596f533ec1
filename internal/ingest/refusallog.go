package ingest

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// RefusalLoggerName names the logger refusal lines are written with (below
// the service's own logger, e.g. "ingest.refusals"). These lines are already
// sampled per source and reason by ingest; the process logger must not
// sample them again by message (zap's production sampler would drop the
// first refusal of a quiet source behind a flood of another), so
// app.NewLogger passes entries of this logger around its sampler.
const RefusalLoggerName = "refusals"

// Refusal-line sampling: in every refusalWindow, the first refusalBurst
// refusals of each (source, reason) are logged and the rest only counted in
// metrics; the next line written for that pair says how many were left out.
// A genuine signature mismatch of one source is therefore logged within a
// window however hard another source (or another reason of the same source)
// is flooded, while a flood costs at most refusalBurst lines per pair per
// window: 3,000 forged requests a second against one source write 5 lines
// every 10 s, not 3,000.
const (
	refusalWindow = 10 * time.Second
	refusalBurst  = 5
)

// refusalKey is one (source, reason) pair. Both come from closed sets
// (configured sources; fixed reasons and outcomes), so the map stays small.
type refusalKey struct{ source, reason string }

type refusalCount struct {
	start   time.Time // start of the current window
	logged  int       // lines written in the current window
	dropped int       // lines left out since the last line written
}

// refusalSampler decides which refusal lines are written. The zero value is
// not usable; see newRefusalSampler.
type refusalSampler struct {
	window time.Duration
	burst  int
	now    func() time.Time

	mu   sync.Mutex
	keys map[refusalKey]*refusalCount
}

func newRefusalSampler(window time.Duration, burst int, now func() time.Time) *refusalSampler {
	return &refusalSampler{window: window, burst: burst, now: now, keys: map[refusalKey]*refusalCount{}}
}

// allow reports whether a refusal of (source, reason) is logged now and, if
// it is, how many of the pair were left out before it.
func (s *refusalSampler) allow(source, reason string) (ok bool, dropped int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := refusalKey{source, reason}
	c := s.keys[k]
	if c == nil {
		c = &refusalCount{start: now}
		s.keys[k] = c
	}
	if now.Sub(c.start) >= s.window || now.Before(c.start) {
		c.start, c.logged = now, 0
	}
	if c.logged >= s.burst {
		c.dropped++
		return false, 0
	}
	c.logged++
	dropped, c.dropped = c.dropped, 0
	return true, dropped
}

// logRefusal writes one refusal line at warn level, with the request's
// fields, the reason and, when lines of the pair were left out before it,
// their count (suppressed), unless the sampler leaves it out.
func (s *Service) logRefusal(log reqLog, source, reason, msg string, extra ...zap.Field) {
	if !s.refusalLog.Core().Enabled(zap.WarnLevel) {
		return // do not use up the window on lines nobody writes
	}
	ok, dropped := s.refusals.allow(source, reason)
	if !ok {
		return
	}
	extra = append(extra, zap.String("reason", reason))
	if dropped > 0 {
		extra = append(extra, zap.Int("suppressed", dropped))
	}
	log.l = s.refusalLog
	log.write(zap.WarnLevel, msg, extra...)
}
