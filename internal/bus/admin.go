package bus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a message put back by an operator (idvctl dlq replay, idvctl
// replay).
const (
	// HeaderRawKey carries a raw webhook's dedup key on a copy put back into
	// IDV_RAW. The copy needs a Nats-Msg-Id of its own (the original key
	// would be dropped as a duplicate within the window), and the normalizer
	// derives event ids and its applied-event memory from this key instead,
	// so a replayed webhook gives the ids the original would have.
	HeaderRawKey = "Idv-Raw-Key"
	// HeaderReplayOf names what a put-back copy was made from:
	// "<stream>:<seq>" (IDV_DLQ:12, IDV_RAW:345).
	HeaderReplayOf = "Idv-Replay-Of"
)

// RawKey is the dedup key of a raw webhook stored at seq in stream with
// header h: its Idv-Raw-Key when it is a copy an operator put back, else its
// Nats-Msg-Id, else its place in the stream ("<stream>:<seq>"). The
// normalizer derives event ids and its applied-event memory from it, so
// every copy of a webhook has the key of the original.
func RawKey(h nats.Header, stream string, seq uint64) string {
	if k := h.Get(HeaderRawKey); k != "" {
		return k
	}
	if k := h.Get(HeaderMsgID); k != "" {
		return k
	}
	return stream + ":" + strconv.FormatUint(seq, 10)
}

// RedeliverSubject is the IDV_EVENTS subject on which an event is put back
// for one subscriber only: idv.redeliver.<subscriber>. Only that
// subscriber's notifier consumer takes it; consumers filtering idv.events.>
// never see it.
func RedeliverSubject(subscriber string) string { return "idv.redeliver." + subscriber }

// ErrNotFound is returned when a stream message, a consumer or a KV key does
// not exist (never stored, deleted, or expired).
var ErrNotFound = errors.New("not found")

// StoredMsg is one message as stored in a stream.
type StoredMsg struct {
	Stream  string
	Seq     uint64
	Subject string
	// Time is when the stream stored it.
	Time   time.Time
	Header nats.Header
	Data   []byte
}

// ReadOptions choose the messages [Bus.ReadStream] reads.
type ReadOptions struct {
	// Subjects filter the messages (wildcards allowed); none: all.
	Subjects []string
	// StartSeq or StartTime (when set) is where reading starts; by
	// default it starts at the first message.
	StartSeq  uint64
	StartTime time.Time
	// Wait bounds each fetch (default 10 s).
	Wait time.Duration
}

// ReadStream calls each with the messages of stream chosen by o, in stream
// order, from o's start up to the last matching message stored when the call
// began: messages stored during the read (a replay's own copies) are not
// read. total is how many matched at the start (messages deleted meanwhile
// are skipped, so each may be called fewer times). each returning an error
// stops the read with that error. It reads through a short-lived ephemeral
// consumer without acks, so nothing of the stream's state changes.
func (b *Bus) ReadStream(ctx context.Context, stream string, o ReadOptions, each func(m StoredMsg, total uint64) error) error {
	cc := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubjects:    o.Subjects,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute, // removed by the server if we die
		MemoryStorage:     true,
		Replicas:          1,
	}
	switch {
	case o.StartSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, o.StartSeq
	case !o.StartTime.IsZero():
		t := o.StartTime.UTC()
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	cons, err := st.CreateConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.js.DeleteConsumer(dctx, stream, cons.CachedInfo().Name)
	}()
	total := cons.CachedInfo().NumPending
	wait := o.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	for read := uint64(0); read < total; {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := cons.Fetch(int(min(total-read, 256)), jetstream.FetchMaxWait(wait))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		got := 0
		for jm := range batch.Messages() {
			got++
			read++
			md, err := jm.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: %w", stream, err)
			}
			if md.Sequence.Stream > last {
				continue // stored after the read began
			}
			m := StoredMsg{Stream: stream, Seq: md.Sequence.Stream, Subject: jm.Subject(), Time: md.Timestamp, Header: jm.Headers(), Data: jm.Data()}
			if err := each(m, total); err != nil {
				// Let the batch finish arriving; it is not acked anyway.
				for range batch.Messages() {
				}
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if got == 0 {
			return nil // the rest was deleted meanwhile
		}
	}
	return nil
}

// GetMsg returns the message stored at seq in stream, or [ErrNotFound].
func (b *Bus) GetMsg(ctx context.Context, stream string, seq uint64) (StoredMsg, error) {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return StoredMsg{}, fmt.Errorf("stream %s: %w", stream, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return StoredMsg{}, fmt.Errorf("%s seq %d: %w", stream, seq, notFound(err))
	}
	return StoredMsg{Stream: stream, Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Header: m.Header, Data: m.Data}, nil
}

// DeleteMsg removes the message at seq from stream, or returns [ErrNotFound].
// With erase, its content is overwritten on disk too (for personal data).
func (b *Bus) DeleteMsg(ctx context.Context, stream string, seq uint64, erase bool) error {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	if erase {
		err = st.SecureDeleteMsg(ctx, seq)
	} else {
		err = st.DeleteMsg(ctx, seq)
	}
	if err != nil {
		return fmt.Errorf("delete %s seq %d: %w", stream, seq, notFound(err))
	}
	return nil
}

// Republish stores msg (subject, headers and body as given, including its
// Nats-Msg-Id) in stream, and returns the new sequence once JetStream
// acknowledged it. dup is true when the Nats-Msg-Id was seen within the
// duplicate window (seq is then the earlier copy's). A message stored by
// another stream is reported as [ErrWrongStream].
func (b *Bus) Republish(ctx context.Context, stream string, msg *nats.Msg) (seq uint64, dup bool, err error) {
	ack, err := b.js.PublishMsg(ctx, msg)
	if err == nil {
		err = inStream(ack, stream)
	}
	if err != nil {
		return 0, false, fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return ack.Sequence, ack.Duplicate, nil
}

// ConsumerFilterSubjects returns the subject filters of a durable consumer,
// or [ErrNotFound].
func (b *Bus) ConsumerFilterSubjects(ctx context.Context, stream, durable string) ([]string, error) {
	c, err := b.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, notFound(err))
	}
	cfg := c.CachedInfo().Config
	if cfg.FilterSubject != "" {
		return []string{cfg.FilterSubject}, nil
	}
	return cfg.FilterSubjects, nil
}

// notFound maps JetStream's "no such message/consumer" answers to ErrNotFound.
func notFound(err error) error {
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		(errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound) ||
		// A delete of a missing sequence: the client keeps only the text of
		// the server's JSSequenceNotFoundErrF (10043).
		(errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "err_code=10043")) {
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	}
	return err
}
