package ctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

func init() {
	register(command{
		name: "replay", args: "--source S (--since T | --seq N)",
		summary: "re-normalize a source's stored raw webhooks (after a mapping fix)",
		run:     runReplay,
	})
}

var replayHelp = helpText{
	name: "replay", args: "--source NAME (--since T | --seq N) [--until T] [--dry-run]",
	purpose: "put a source's stored raw webhooks back to the normalizer, e.g. after a mapping fix",
	details: `Reads IDV_RAW. Event ids derive from each webhook's raw key, and each
verification remembers the vendor events it applied: what was applied emits
nothing again; what was dead-lettered, ignored or failed before is applied now.`,
	examples: []string{
		"idvctl replay --source persona --since 24h --dry-run   # count what a replay of the last day would put back",
		"idvctl replay --source idwise --seq 1200 --until 2026-01-02T15:00:00Z   # a range by sequence and time",
	},
}

// replaySummary is what replay reports (one JSON object with --json).
type replaySummary struct {
	Source string `json:"source"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Read counts the stored webhooks read in the range; Replayed the copies
	// put back (or that would be); Skipped those whose raw key was already
	// put back in this run (a vendor's retry stored twice, or an earlier
	// replay's copy); Failed those not confirmed by JetStream.
	Read     int      `json:"read"`
	Replayed int      `json:"replayed"`
	Skipped  int      `json:"skipped"`
	Failed   int      `json:"failed"`
	FirstSeq uint64   `json:"first_seq,omitempty"`
	LastSeq  uint64   `json:"last_seq,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// errUntil ends a replay read at --until.
var errUntil = errors.New("until reached")

func runReplay(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(replayHelp)
	source := fs.String("source", "", "the source whose webhooks to replay")
	since := fs.String("since", "", "from webhooks stored since: an RFC 3339 time or a duration ago (24h)")
	seq := fs.Uint64("seq", 0, "from this IDV_RAW sequence number")
	until := fs.String("until", "", "up to webhooks stored at this time (RFC 3339 or a duration ago); default: all stored now")
	dry := fs.Bool("dry-run", false, "only count what would be replayed")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.Usagef("replay takes no arguments")
	}
	if *source == "" || !config.NamePattern.MatchString(*source) {
		return e.Usagef("replay: --source NAME is required (a source name)")
	}
	if (*since == "") == (*seq == 0) {
		return e.Usagef("replay: give one of --since or --seq")
	}
	now := time.Now()
	o := bus.ReadOptions{Subjects: []string{"idv.raw.*." + *source}, StartSeq: *seq}
	if *since != "" {
		t, err := pointInTime(*since, now)
		if err != nil {
			return e.Usagef("replay: --since: %v", err)
		}
		o.StartTime = t
	}
	var end time.Time
	if *until != "" {
		t, err := pointInTime(*until, now)
		if err != nil {
			return e.Usagef("replay: --until: %v", err)
		}
		end = t
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	pb := newPutBack(b)
	sum := replaySummary{Source: *source, DryRun: *dry}
	seen := map[string]bool{}
	var step func(int)
	done := func() {}
	err := b.ReadStream(ctx, bus.StreamRaw, o, func(m bus.StoredMsg, total uint64) error {
		if step == nil {
			step, done = e.Progress("replay "+*source, int(total))
		}
		if !end.IsZero() && m.Time.After(end) {
			return errUntil
		}
		step(1)
		sum.Read++
		if sum.FirstSeq == 0 {
			sum.FirstSeq = m.Seq
		}
		sum.LastSeq = m.Seq
		key := bus.RawKey(m.Header, m.Stream, m.Seq)
		if seen[key] {
			sum.Skipped++
			return nil
		}
		seen[key] = true
		if *dry {
			sum.Replayed++
			return nil
		}
		if _, err := pb.publish(ctx, e.Timeout, bus.StreamRaw, pb.fromRaw(m)); err != nil {
			sum.Failed++
			if len(sum.Errors) < 20 {
				sum.Errors = append(sum.Errors, fmt.Sprintf("IDV_RAW seq %d: %v", m.Seq, err))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		sum.Replayed++
		return nil
	})
	done()
	if err != nil && !errors.Is(err, errUntil) {
		e.Out(sum.text(), sum)
		return e.Errorf(ExitFailure, "replay: %v", err)
	}
	e.Out(sum.text(), sum)
	switch {
	case sum.Read == 0:
		return e.Errorf(ExitNotFound, "replay: no stored webhooks of source %s in that range", *source)
	case sum.Failed > 0 && sum.Replayed > 0:
		return ExitPartial
	case sum.Failed > 0:
		return ExitFailure
	}
	return ExitOK
}

func (s replaySummary) text() string {
	verb := "replayed"
	if s.DryRun {
		verb = "would replay"
	}
	t := fmt.Sprintf("%s %d of %d stored webhooks of source %s (IDV_RAW seq %d-%d); %d skipped (raw key already replayed in this run), %d failed",
		verb, s.Replayed, s.Read, s.Source, s.FirstSeq, s.LastSeq, s.Skipped, s.Failed)
	for _, e := range s.Errors {
		t += "\n  " + e
	}
	return t
}
