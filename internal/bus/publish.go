package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishEvents stores msgs (CloudEvents encoded by idv.ToNATS, with their
// subjects set) in IDV_EVENTS, in order, and returns once JetStream
// acknowledged every one. Each carries its Nats-Msg-Id, so publishing the same
// events again within the duplicate window stores nothing new: it returns how
// many were such duplicates. An error means some may be unconfirmed; retrying
// the whole batch is safe.
func (b *Bus) PublishEvents(ctx context.Context, msgs []*nats.Msg) (dups int, err error) {
	if len(msgs) == 1 {
		ack, err := b.js.PublishMsg(ctx, msgs[0])
		if err == nil {
			err = inStream(ack, StreamEvents)
		}
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", msgs[0].Subject, err)
		}
		if ack.Duplicate {
			dups++
		}
		return dups, nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := b.js.PublishMsgAsync(m)
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", m.Subject, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			if err := inStream(ack, StreamEvents); err != nil {
				return 0, fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
			}
			if ack.Duplicate {
				dups++
			}
		case err := <-f.Err():
			return 0, fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return 0, fmt.Errorf("publish %s: %w", f.Msg().Subject, ctx.Err())
		}
	}
	return dups, nil
}

// ErrWrongStream is returned when a publish was stored by another stream than
// the one its subject belongs to: the topology was changed by hand.
var ErrWrongStream = errors.New("stored in an unexpected stream")

// inStream checks that ack comes from stream. It replaces the
// Nats-Expected-Stream header (jetstream.WithExpectStream): JetStream keeps
// that header in the stored message, where it breaks any consumer that
// forwards the message with its headers into a stream of its own (error
// 10060), and stored messages carry only the headers the contract lists.
// The check comes after the write, so a message caught by a foreign stream is
// stored there and reported as an error (a retry is safe: Nats-Msg-Id).
func inStream(ack *jetstream.PubAck, stream string) error {
	if ack.Stream != stream {
		return fmt.Errorf("%w: %s, not %s", ErrWrongStream, safeStreamName(ack.Stream), stream)
	}
	return nil
}

// safeStreamName bounds a stream name taken from a server answer before it is
// put in an error.
func safeStreamName(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// Headers of a dead letter in IDV_DLQ (docs/contract.md).
const (
	HeaderError           = "Idv-Error"
	HeaderStage           = "Idv-Stage"
	HeaderOriginalSubject = "Idv-Original-Subject"
	HeaderOriginalSeq     = "Idv-Original-Seq"
	HeaderAttempts        = "Idv-Attempts"
)

// The stages that dead-letter (Idv-Stage, and the second token of the DLQ subject).
const (
	StageNormalize = "normalize"
	StageNotify    = "notify"
)

// DeadLetter is a message a stage gave up on.
type DeadLetter struct {
	Stage string // "normalize" or "notify"
	Name  string // the source (normalize) or subscriber (notify)
	// Reason is the Idv-Error header: what went wrong, without personal data.
	Reason          string
	OriginalStream  string
	OriginalSubject string
	OriginalSeq     uint64
	Attempts        uint64
	// Header holds the original's headers, kept (e.g. the raw Idv-* headers).
	Header nats.Header
	// Extra headers are set on top of Header (Idv-Raw-Key, Idv-Last-Status):
	// PublishDLQ copies the headers once, so callers need not.
	Extra map[string]string
	Body  []byte // the original body, unchanged
}

// DLQSubject is the subject of a dead letter: idv.dlq.<stage>.<name>.
func DLQSubject(stage, name string) string { return "idv.dlq." + stage + "." + name }

// PublishDLQ stores d in IDV_DLQ and returns once JetStream acknowledged it.
// Its Nats-Msg-Id is derived from the original stream and sequence (and, for
// the notify stage, the subscriber), so dead-lettering the same message twice
// stores one copy. The message's own headers are kept; JetStream's
// (Nats-*) are not.
func (b *Bus) PublishDLQ(ctx context.Context, d DeadLetter) error {
	h := nats.Header{}
	for k, v := range d.Header {
		// Keep the message's own headers (Idv-Source, Idv-Received-At...,
		// a CloudEvent's ce-*), not JetStream's (Nats-Msg-Id,
		// Nats-Expected-Stream, Nats-Pin-Id...).
		if !strings.HasPrefix(k, "Nats-") {
			h[k] = v
		}
	}
	for k, v := range d.Extra {
		h[k] = []string{v}
	}
	h[HeaderError] = []string{headerSafe(d.Reason)}
	h[HeaderStage] = []string{d.Stage}
	h[HeaderOriginalSubject] = []string{d.OriginalSubject}
	h[HeaderOriginalSeq] = []string{strconv.FormatUint(d.OriginalSeq, 10)}
	h[HeaderAttempts] = []string{strconv.FormatUint(d.Attempts, 10)}
	id := d.Stage + ":" + d.OriginalStream + ":" + strconv.FormatUint(d.OriginalSeq, 10)
	if d.Stage == StageNotify {
		// Several subscribers may dead-letter the same event.
		id = d.Stage + ":" + d.Name + ":" + d.OriginalStream + ":" + strconv.FormatUint(d.OriginalSeq, 10)
	}
	h[HeaderMsgID] = []string{id}
	msg := &nats.Msg{Subject: DLQSubject(d.Stage, d.Name), Header: h, Data: d.Body}
	ack, err := b.js.PublishMsg(ctx, msg)
	if err == nil {
		err = inStream(ack, StreamDLQ)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return nil
}

// headerSafe makes s usable as one NATS header value: no line breaks or other
// control characters, at most 1 KiB.
func headerSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > 1024 {
		b = b[:1024]
	}
	return string(b)
}
