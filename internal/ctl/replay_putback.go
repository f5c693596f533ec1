package ctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/notify"
)

// putBack builds the copies that dlq replay and replay publish. One value
// serves one command run: its op id makes each copy's Nats-Msg-Id unique to
// the run and the item, so a publish retried within the run is dropped as a
// duplicate while a later run puts the item back again.
type putBack struct {
	b  *bus.Bus
	op string
	// redeliverOK caches, per subscriber, whether its consumer takes
	// redeliveries (nil error) or why not.
	redeliverOK map[string]error
}

func newPutBack(b *bus.Bus) *putBack {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return &putBack{b: b, op: hex.EncodeToString(r[:]), redeliverOK: map[string]error{}}
}

// msgID is the Nats-Msg-Id of the copy of stream:seq.
func (p *putBack) msgID(stream string, seq uint64) string {
	return "replay:" + p.op + ":" + stream + ":" + strconv.FormatUint(seq, 10)
}

// deadLetterOnly are the headers a dead letter adds to the message it keeps;
// a put-back copy goes without them (the stage adds fresh ones if it fails again).
var deadLetterOnly = []string{
	bus.HeaderError, bus.HeaderStage, bus.HeaderOriginalSubject, bus.HeaderOriginalSeq,
	bus.HeaderAttempts, notify.HeaderLastStatus, bus.HeaderReplayOf,
}

// putBackHeader copies h without JetStream's headers (Nats-*) and without drop.
func putBackHeader(h nats.Header, drop []string) nats.Header {
	out := make(nats.Header, len(h)+3)
	for k, v := range h {
		if strings.HasPrefix(k, "Nats-") || slices.Contains(drop, k) {
			continue
		}
		out[k] = slices.Clone(v)
	}
	return out
}

// errNotReplayable marks a dead letter that cannot be put back as it is.
var errNotReplayable = errors.New("cannot be put back")

// fromDeadLetter builds the copy of dead letter m and the stream it goes to:
//   - normalize: the raw body and its Idv-* headers, back on its IDV_RAW
//     subject, with Idv-Raw-Key (the original dedup key) so the normalizer
//     derives the same event ids and skips what it applied already;
//   - notify: the event (ce-* headers and body unchanged, so webhook-id is
//     the same) on idv.redeliver.<subscriber>, which only that
//     subscriber's consumer takes, with Idv-Original-Subject so a new dead
//     letter still names the event's subject.
func (p *putBack) fromDeadLetter(ctx context.Context, m bus.StoredMsg) (*nats.Msg, string, error) {
	d := newDLQEntry(m)
	h := putBackHeader(m.Header, deadLetterOnly)
	h[bus.HeaderReplayOf] = []string{bus.StreamDLQ + ":" + strconv.FormatUint(m.Seq, 10)}
	h[bus.HeaderMsgID] = []string{p.msgID(bus.StreamDLQ, m.Seq)}
	switch d.Stage {
	case bus.StageNormalize:
		if !strings.HasPrefix(d.OriginalSubject, "idv.raw.") {
			return nil, "", fmt.Errorf("%w: original subject %q is not in %s", errNotReplayable, d.OriginalSubject, bus.StreamRaw)
		}
		key, err := p.rawKey(ctx, d)
		if err != nil {
			return nil, "", err
		}
		h[bus.HeaderRawKey] = []string{key}
		return &nats.Msg{Subject: d.OriginalSubject, Header: h, Data: m.Data}, bus.StreamRaw, nil
	case bus.StageNotify:
		if d.EventID == "" {
			return nil, "", fmt.Errorf("%w: not a CloudEvent (no ce-id)", errNotReplayable)
		}
		if err := p.takesRedeliveries(ctx, d.Name); err != nil {
			return nil, "", err
		}
		if d.OriginalSubject != "" {
			h[bus.HeaderOriginalSubject] = []string{d.OriginalSubject}
		}
		return &nats.Msg{Subject: bus.RedeliverSubject(d.Name), Header: h, Data: m.Data}, bus.StreamEvents, nil
	}
	return nil, "", fmt.Errorf("%w: unknown stage %q", errNotReplayable, d.Stage)
}

// rawKey finds the raw dedup key of a normalize dead letter: its
// Idv-Raw-Key (every dead letter has one since idvctl exists), else the key
// of the original if it is still in IDV_RAW, else the original's place,
// which is what the normalizer uses for a webhook without a key.
func (p *putBack) rawKey(ctx context.Context, d dlqEntry) (string, error) {
	if d.RawKey != "" {
		return d.RawKey, nil
	}
	if d.OriginalSeq == 0 {
		return "", fmt.Errorf("%w: no raw key and no original sequence", errNotReplayable)
	}
	raw, err := p.b.GetMsg(ctx, bus.StreamRaw, d.OriginalSeq)
	switch {
	case errors.Is(err, bus.ErrNotFound) || (err == nil && raw.Subject != d.OriginalSubject):
		return bus.RawKey(nil, bus.StreamRaw, d.OriginalSeq), nil
	case err != nil:
		return "", err
	}
	return bus.RawKey(raw.Header, bus.StreamRaw, d.OriginalSeq), nil
}

// takesRedeliveries checks that the subscriber's consumer exists and takes
// its redeliver subject, so a put-back event cannot sit unread.
func (p *putBack) takesRedeliveries(ctx context.Context, subscriber string) error {
	if err, ok := p.redeliverOK[subscriber]; ok {
		return err
	}
	subjects, err := p.b.ConsumerFilterSubjects(ctx, bus.StreamEvents, notify.Durable(subscriber))
	switch {
	case errors.Is(err, bus.ErrNotFound):
		err = fmt.Errorf("%w: subscriber %s has no consumer %s (not configured?)", errNotReplayable, subscriber, notify.Durable(subscriber))
	case err != nil:
		return err // transient: do not cache
	case !slices.Contains(subjects, bus.RedeliverSubject(subscriber)):
		err = fmt.Errorf("%w: consumer %s does not take %s yet: restart its notifier with this version first",
			errNotReplayable, notify.Durable(subscriber), bus.RedeliverSubject(subscriber))
	}
	p.redeliverOK[subscriber] = err
	return err
}

// fromRaw builds the copy of a stored raw webhook for re-normalizing: same
// subject, body and Idv-* headers, Idv-Raw-Key = its dedup key.
func (p *putBack) fromRaw(m bus.StoredMsg) *nats.Msg {
	h := putBackHeader(m.Header, []string{bus.HeaderReplayOf})
	h[bus.HeaderRawKey] = []string{bus.RawKey(m.Header, m.Stream, m.Seq)}
	h[bus.HeaderReplayOf] = []string{bus.StreamRaw + ":" + strconv.FormatUint(m.Seq, 10)}
	h[bus.HeaderMsgID] = []string{p.msgID(bus.StreamRaw, m.Seq)}
	return &nats.Msg{Subject: m.Subject, Header: h, Data: m.Data}
}

// publish stores msg in stream, trying up to three times within timeout
// each: the copy's Nats-Msg-Id makes a retry of a publish that did land a
// duplicate rather than a second copy.
func (p *putBack) publish(ctx context.Context, timeout time.Duration, stream string, msg *nats.Msg) (uint64, error) {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		var seq uint64
		seq, _, err = p.b.Republish(pctx, stream, msg)
		cancel()
		if err == nil {
			return seq, nil
		}
	}
	return 0, err
}
