package bus_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

func newTailBus(t *testing.T) *bus.Bus {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	return natstest.RunJS(t).Bus(t, config.Default().JetStream)
}

// publishEvents stores one message per subject, with header N = its index.
func publishEvents(t *testing.T, b *bus.Bus, from int, subjects ...string) {
	t.Helper()
	msgs := make([]*nats.Msg, len(subjects))
	for i, s := range subjects {
		n := strconv.Itoa(from + i)
		msgs[i] = &nats.Msg{Subject: s, Header: nats.Header{"Nats-Msg-Id": {"m" + n}, "N": {n}}, Data: []byte("{}")}
	}
	if _, err := b.PublishEvents(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

const (
	approved = "idv.events.persona.verification.approved"
	created  = "idv.events.persona.verification.created"
	selfie   = "idv.events.incode.check.selfie"
)

// tailN collects the N header of every message until the tail ends.
func tailN(t *testing.T, b *bus.Bus, o bus.TailOptions, limit int) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	err := b.Tail(ctx, o, func(m *bus.Msg) error {
		got = append(got, m.Header().Get("N"))
		if len(got) == limit {
			return bus.ErrStopTail
		}
		return nil
	})
	return got, err
}

func TestTailStartsAndFilters(t *testing.T) {
	b := newTailBus(t)
	publishEvents(t, b, 0, approved, created, selfie, approved, created, approved, selfie)
	// Generous: a loaded machine may be slow to deliver.
	idle := 2 * time.Second
	cases := []struct {
		name string
		o    bus.TailOptions
		want string
	}{
		{"all", bus.TailOptions{Start: bus.TailStart{All: true}, Idle: idle}, "0123456"},
		{"all approved", bus.TailOptions{FilterSubjects: []string{approved}, Start: bus.TailStart{All: true}, Idle: idle}, "035"},
		{"last 2 approved", bus.TailOptions{FilterSubjects: []string{approved}, Start: bus.TailStart{Last: 2}, Idle: idle}, "35"},
		{"last 3 of two subjects", bus.TailOptions{FilterSubjects: []string{created, selfie}, Start: bus.TailStart{Last: 3}, Idle: idle}, "246"},
		{"last 1", bus.TailOptions{Start: bus.TailStart{Last: 1}, Idle: idle}, "6"},
		{"last more than stored", bus.TailOptions{FilterSubjects: []string{selfie}, Start: bus.TailStart{Last: 10}, Idle: idle}, "26"},
		{"since the future", bus.TailOptions{Start: bus.TailStart{Since: time.Now().Add(time.Hour)}, Idle: idle}, ""},
		{"since an hour ago", bus.TailOptions{Start: bus.TailStart{Since: time.Now().Add(-time.Hour)}, Idle: idle}, "0123456"},
		{"new", bus.TailOptions{Idle: idle}, ""},
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				// A case that expects messages stops at the last one: a
				// wrong start shows as a wrong first message or as too few
				// (the idle end). One that expects none waits for the idle end.
				limit, wantErr := len(c.want), error(nil)
				if limit == 0 {
					limit, wantErr = 100, bus.ErrTailIdle
				}
				got, err := tailN(t, b, c.o, limit)
				if !errors.Is(err, wantErr) {
					t.Errorf("ended with %v, want %v", err, wantErr)
				}
				s := ""
				for _, n := range got {
					s += n
				}
				if s != c.want {
					t.Errorf("got %q, want %q", s, c.want)
				}
			})
		}
	})
}

// TestTailSeesNewMessages: a tail started before a publish gets it, and a
// callback's ErrStopTail ends the tail cleanly.
func TestTailSeesNewMessages(t *testing.T) {
	b := newTailBus(t)
	publishEvents(t, b, 0, approved)
	done := make(chan []string, 1)
	errc := make(chan error, 1)
	go func() {
		var got []string
		err := b.Tail(context.Background(), bus.TailOptions{FilterSubjects: []string{approved}}, func(m *bus.Msg) error {
			got = append(got, m.Header().Get("N"))
			if len(got) == 2 {
				return bus.ErrStopTail
			}
			return nil
		})
		done <- got
		errc <- err
	}()
	// The tail starts with new messages: publish until two arrive (the
	// first publishes may precede the consumer).
	n := 1
	deadline := time.After(10 * time.Second)
	for {
		publishEvents(t, b, n, approved)
		n++
		select {
		case got := <-done:
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got[0] == "0" || len(got) != 2 {
				t.Fatalf("got %v: the message stored before the tail started came", got)
			}
			a, _ := strconv.Atoi(got[0])
			c, _ := strconv.Atoi(got[1])
			if c != a+1 {
				t.Fatalf("got %v: not consecutive", got)
			}
			return
		case <-deadline:
			t.Fatal("tail saw nothing")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestTailEndsWithContext(t *testing.T) {
	b := newTailBus(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Tail(ctx, bus.TailOptions{}, func(*bus.Msg) error { return nil }) }()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("ended with %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not end with its context")
	}
}
