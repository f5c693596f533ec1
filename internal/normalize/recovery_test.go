package normalize_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
)

// Recovery after a crash (issue 16). These tests run the recovery knobs at
// their defaults and report how long recovery took on this machine; they
// assert the mechanism (what the consumer is configured with, that work
// resumes, that a live process keeps its work) with deadlines far above the
// expected times, never the times themselves (docs/decisions.md D41).

// recoveryStack is a stack with the default ack wait and pinned ttl.
func recoveryStack(t *testing.T) *stack {
	t.Helper()
	s := newStack(t)
	d := config.Default().Normalizer
	s.cfg.Normalizer.AckWait, s.cfg.Normalizer.PinnedTTL = d.AckWait, d.PinnedTTL
	return s
}

func (s *stack) runAs(t *testing.T, instance string, store func(normalize.Store) normalize.Store) *running {
	t.Helper()
	saved := s.cfg.Normalizer.Instance
	s.cfg.Normalizer.Instance = instance
	defer func() { s.cfg.Normalizer.Instance = saved }()
	return s.run(t, nil, store)
}

func (s *stack) publishInquiry(t *testing.T, n int) {
	t.Helper()
	evt := fmt.Sprintf("evt_r%d", n)
	s.publishRaw(t, "persona", "persona", "persona:"+evt,
		personaInquiry(evt, fmt.Sprintf("inq_r%d", n), "inquiry.approved", "approved", time.Now()))
}

func (s *stack) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	js, err := jetstream.New(s.srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := js.Consumer(context.Background(), bus.StreamRaw, normalize.Durable)
	if err != nil {
		t.Fatal(err)
	}
	return c.CachedInfo()
}

func (s *stack) pinnedID(t *testing.T) string {
	t.Helper()
	for _, g := range s.consumerInfo(t).PriorityGroups {
		if g.Group == normalize.PriorityGroup {
			return g.PinnedClientID
		}
	}
	return ""
}

// The consumer carries the recovery knobs: the defaults are a short ack wait
// and a short pinned ttl (issue 16: a crashed process's webhooks and its pin
// go to another process within about 3 s).
func TestRecoveryConsumerConfig(t *testing.T) {
	s := recoveryStack(t)
	s.runAs(t, "n1", nil)
	s.publishInquiry(t, 1)
	s.waitEvents(t, 1)
	cc := s.consumerInfo(t).Config
	if cc.AckWait != 3*time.Second || cc.PinnedTTL != 3*time.Second || cc.PriorityPolicy != jetstream.PriorityPolicyPinned {
		t.Fatalf("consumer ack_wait %s, pinned_ttl %s, policy %v; want 3s, 3s, pinned", cc.AckWait, cc.PinnedTTL, cc.PriorityPolicy)
	}
	if cc.Metadata["idvbus.pin.instance"] != "n1" || cc.Metadata["idvbus.pin.id"] != s.pinnedID(t) {
		t.Fatalf("pin record %v, pinned %q: the active instance did not record its pin", cc.Metadata, s.pinnedID(t))
	}
}

// A standby takes over from a crashed active normalizer: webhooks stored
// after the crash are normalized once the pin has expired, and the webhook
// the crashed one held is redelivered after the ack wait.
func TestRecoveryStandbyTakesOver(t *testing.T) {
	s := recoveryStack(t)
	var hold atomic.Bool
	held := make(chan struct{}, 1)
	a := s.runAs(t, "a", func(st normalize.Store) normalize.Store { return &holdingStore{Store: st, hold: &hold, held: held} })
	s.publishInquiry(t, 1)
	s.waitEvents(t, 1) // a holds the pin
	s.runAs(t, "b", nil)
	hold.Store(true)
	s.publishInquiry(t, 2)
	select {
	case <-held:
	case <-time.After(15 * time.Second):
		t.Fatal("the active normalizer never took the webhook")
	}
	crashed := time.Now()
	a.crash(t)
	s.publishInquiry(t, 3)
	took := map[string]time.Duration{}
	natstest.Eventually(t, 30*time.Second, "the held webhook and the next one normalized by the standby", func() bool {
		for _, m := range s.events(t) {
			if v := decodeUpdate(t, m).VerificationID; took[v] == 0 {
				took[v] = time.Since(crashed)
			}
		}
		return len(took) == 3
	})
	t.Logf("standby after a crash: next webhook normalized after %s (pinned_ttl %s), the crashed one's held webhook after %s (ack_wait %s)",
		took["inq_r3"].Round(10*time.Millisecond), s.cfg.Normalizer.PinnedTTL, took["inq_r2"].Round(10*time.Millisecond), s.cfg.Normalizer.AckWait)
}

// A restart of the same instance takes the pin back at once: with a pinned
// ttl of a minute, a standby would wait a minute; the restart normalizes
// the next webhook well inside the deadline.
func TestRecoveryRestartReclaimsPin(t *testing.T) {
	s := recoveryStack(t)
	s.cfg.Normalizer.PinnedTTL = time.Minute
	a := s.runAs(t, "n1", nil)
	s.publishInquiry(t, 1)
	s.waitEvents(t, 1)
	pin := s.pinnedID(t)
	if pin == "" {
		t.Fatal("no pin after the first webhook")
	}
	a.crash(t)
	// Another instance's pin is not taken: a live peer may hold it.
	b := s.bus(t, s.srv.Connect(t))
	if ok, err := b.ReclaimPin(context.Background(), bus.StreamRaw, normalize.Durable, normalize.PriorityGroup, "n2"); err != nil || ok {
		t.Fatalf("ReclaimPin as another instance = %v, %v; want false", ok, err)
	}
	if s.pinnedID(t) != pin {
		t.Fatal("the pin changed without a takeover")
	}
	restarted := time.Now()
	s.runAs(t, "n1", nil)
	s.publishInquiry(t, 2)
	natstest.Eventually(t, 30*time.Second, "the restart normalizing (a minute's pinned ttl would not let it)", func() bool {
		return len(s.events(t)) == 2
	})
	t.Logf("restart of the same instance: next webhook normalized %s after the restart (pinned_ttl %s)",
		time.Since(restarted).Round(10*time.Millisecond), s.cfg.Normalizer.PinnedTTL)
}

// A slow but live normalizer is not overtaken: while every webhook it holds
// takes longer than the ack wait and the pinned ttl, it keeps them (in
// progress) and its pin (a pull that takes nothing), so a standby does no
// work and nothing is delivered twice.
func TestRecoverySlowIsNotOvertaken(t *testing.T) {
	s := newStack(t)             // ack wait and pinned ttl of 1 s
	s.cfg.Normalizer.Workers = 1 // holds 4 webhooks at most, handles 1
	release := make(chan struct{})
	var started atomic.Int32
	s.runAs(t, "a", func(st normalize.Store) normalize.Store {
		return &slowStore{Store: st, release: release, started: &started}
	})
	s.publishInquiry(t, 0)
	natstest.Eventually(t, 15*time.Second, "the active normalizer handling", func() bool { return started.Load() > 0 })
	var standbyGets atomic.Int32
	s.runAs(t, "b", func(st normalize.Store) normalize.Store { return &countingStore{Store: st, gets: &standbyGets} })
	for i := 1; i <= 6; i++ { // more than it can hold
		s.publishInquiry(t, i)
	}
	// The slowness under test: twice the ack wait and the pinned ttl.
	<-time.After(2 * max(s.cfg.Normalizer.AckWait, s.cfg.Normalizer.PinnedTTL))
	close(release)
	s.waitEvents(t, 7)
	if n := standbyGets.Load(); n != 0 {
		t.Errorf("the standby worked on %d webhooks while the active one was slow", n)
	}
	natstest.Eventually(t, 15*time.Second, "every webhook acked", func() bool {
		ci := s.consumerInfo(t)
		return ci.NumAckPending == 0 && ci.NumPending == 0
	})
	if ci := s.consumerInfo(t); ci.NumRedelivered != 0 {
		t.Errorf("%d webhooks redelivered: a slow process lost what it held", ci.NumRedelivered)
	}
	if got := len(s.events(t)); got != 7 {
		t.Errorf("%d events, want 7", got)
	}
}

// holdingStore, once hold is set, blocks each read until the process dies.
type holdingStore struct {
	normalize.Store
	hold *atomic.Bool
	held chan struct{}
}

func (h *holdingStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if h.hold.Load() {
		select {
		case h.held <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, 0, ctx.Err()
	}
	return h.Store.Get(ctx, key)
}

// slowStore blocks every read until release is closed.
type slowStore struct {
	normalize.Store
	release chan struct{}
	started *atomic.Int32
}

func (s *slowStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	s.started.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	return s.Store.Get(ctx, key)
}

type countingStore struct {
	normalize.Store
	gets *atomic.Int32
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}
