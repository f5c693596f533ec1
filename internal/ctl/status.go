package ctl

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
)

func init() {
	register(command{name: "status", args: "",
		summary: "streams, consumers, dead letters and KV buckets at a glance", run: runStatus})
}

var statusHelp = helpText{
	name: "status", args: "[flags]",
	purpose: "show streams, consumers, dead letters and KV buckets at a glance",
	details: statusDetails,
	examples: []string{
		"idvctl status   # the all-in-one's bus on 127.0.0.1:4222",
		"idvctl --config /etc/idvbus/idvbus.yaml --json status   # a deployment's, as JSON",
	},
}

const statusDetails = `Shows the state of the bus: each stream's messages, bytes and first/last
message time; each durable consumer (normalizer, notify-<subscriber>) with the
messages still to deliver (pending) and those delivered but not acknowledged
(ack pending); the dead letters per stage and name; the subscribers disabled
because they answered 410 Gone; the KV buckets' sizes.
It only reads. Exit 1 when NATS or the topology cannot be reached.`

type streamJSON struct {
	Name      string     `json:"name"`
	Messages  uint64     `json:"messages"`
	Bytes     uint64     `json:"bytes"`
	FirstSeq  uint64     `json:"first_seq"`
	LastSeq   uint64     `json:"last_seq"`
	FirstTime *time.Time `json:"first_time,omitempty"`
	LastTime  *time.Time `json:"last_time,omitempty"`
	Consumers int        `json:"consumers"`
}

type consumerJSON struct {
	Stream      string `json:"stream"`
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
}

type bucketJSON struct {
	Name    string `json:"name"`
	Values  uint64 `json:"values"`
	Bytes   uint64 `json:"bytes"`
	History int64  `json:"history"`
}

// statusResult is the --json output of status. DeadLetters is keyed by
// <stage>.<name> (the IDV_DLQ subject without idv.dlq.).
type statusResult struct {
	Streams     []streamJSON      `json:"streams"`
	Consumers   []consumerJSON    `json:"consumers"`
	DeadLetters map[string]uint64 `json:"dead_letters"`
	Buckets     []bucketJSON      `json:"buckets"`
	// Disabled lists the subscribers disabled after a 410 Gone.
	Disabled []disabledJSON `json:"disabled_subscribers"`
}

func runStatus(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(statusHelp)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.Usagef("status takes no arguments")
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	res, err := collectStatus(rctx, b)
	if err != nil {
		return e.Errorf(ExitFailure, "%v", err)
	}
	e.Out(statusText(res), res)
	return ExitOK
}

func collectStatus(ctx context.Context, b *bus.Bus) (statusResult, error) {
	res := statusResult{Streams: []streamJSON{}, Consumers: []consumerJSON{}, DeadLetters: map[string]uint64{}, Buckets: []bucketJSON{}}
	ss, err := b.StreamStats(ctx)
	if err != nil {
		return res, err
	}
	for _, s := range ss {
		j := streamJSON{Name: s.Name, Messages: s.Msgs, Bytes: s.Bytes, FirstSeq: s.FirstSeq, LastSeq: s.LastSeq, Consumers: s.Consumers}
		if s.Msgs > 0 {
			ft, lt := s.FirstTime.UTC(), s.LastTime.UTC()
			j.FirstTime, j.LastTime = &ft, &lt
		}
		res.Streams = append(res.Streams, j)
	}
	cs, err := b.ConsumerStats(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range cs {
		res.Consumers = append(res.Consumers, consumerJSON{Stream: c.Stream, Name: c.Name, Pending: c.Pending,
			AckPending: c.AckPending, Redelivered: c.Redelivered})
	}
	dl, err := b.DLQStored(ctx)
	if err != nil {
		return res, err
	}
	for _, n := range dl {
		res.DeadLetters[n.Stage+"."+n.Name] = n.Messages
	}
	bs, err := b.BucketStats(ctx)
	if err != nil {
		return res, err
	}
	for _, k := range bs {
		res.Buckets = append(res.Buckets, bucketJSON{Name: k.Name, Values: k.Values, Bytes: k.Bytes, History: k.History})
	}
	if res.Disabled, err = collectDisabled(ctx, b); err != nil {
		return res, err
	}
	return res, nil
}

func statusText(r statusResult) string {
	var b strings.Builder
	b.WriteString("streams:\n")
	for _, s := range r.Streams {
		span := "empty"
		if s.FirstTime != nil {
			span = "first " + s.FirstTime.Format(time.RFC3339) + " last " + s.LastTime.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "  %-10s %8d msgs %10s  %s\n", s.Name, s.Messages, byteSize(s.Bytes), span)
	}
	b.WriteString("consumers:\n")
	if len(r.Consumers) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, c := range r.Consumers {
		fmt.Fprintf(&b, "  %-10s %-24s pending %d, ack pending %d, redelivered %d\n", c.Stream, c.Name, c.Pending, c.AckPending, c.Redelivered)
	}
	b.WriteString("dead letters:\n")
	if len(r.DeadLetters) == 0 {
		b.WriteString("  (none)\n")
	}
	names := make([]string, 0, len(r.DeadLetters))
	for n := range r.DeadLetters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-34s %d\n", n, r.DeadLetters[n])
	}
	b.WriteString("disabled subscribers (answered 410 Gone):\n")
	b.WriteString(disabledText(r.Disabled))
	b.WriteString("\nkv buckets:")
	for _, k := range r.Buckets {
		fmt.Fprintf(&b, "\n  %-15s %8d values %10s  history %d", k.Name, k.Values, byteSize(k.Bytes), k.History)
	}
	return b.String()
}

// byteSize writes n in B, KiB, MiB or GiB.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, suffix[i])
}
