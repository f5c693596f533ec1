package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
)

// dlqResult is the outcome for one dead letter of dlq replay or dlq purge.
type dlqResult struct {
	Seq   uint64 `json:"seq"`
	Stage string `json:"stage,omitempty"`
	Name  string `json:"name,omitempty"`
	// Result: replayed, would_replay, purged, would_purge, not_found, failed.
	Result string `json:"result"`
	// To and NewSeq locate the put-back copy (replay).
	To     string `json:"to,omitempty"`
	NewSeq uint64 `json:"new_seq,omitempty"`
	// Kept is true when the dead letter stays in IDV_DLQ after a replay.
	Kept  bool   `json:"kept,omitempty"`
	Error string `json:"error,omitempty"`
}

func (r dlqResult) text() string {
	s := fmt.Sprintf("%d  %s", r.Seq, r.Result)
	if r.Stage != "" {
		s += "  " + r.Stage + "/" + r.Name
	}
	if r.To != "" {
		s += "  -> " + r.To
		if r.NewSeq != 0 {
			s += "#" + strconv.FormatUint(r.NewSeq, 10)
		}
	}
	if r.Kept {
		s += "  (dead letter kept)"
	}
	if r.Error != "" {
		s += "  error: " + r.Error
	}
	return s
}

// dlqSelection is the dead letters a bulk command works on: the sequence
// numbers given, or --all with filters.
type dlqSelection struct {
	all    bool
	filter dlqFilter
	seqs   []uint64
}

func (s *dlqSelection) flags(fs *flag.FlagSet) {
	fs.BoolVar(&s.all, "all", false, "every dead letter the --stage, --name and --since filters choose")
	s.filter.flags(fs)
}

func (s *dlqSelection) parse(e *Env, cmd string, pos []string) (bus.ReadOptions, int, bool) {
	if s.all == (len(pos) > 0) {
		return bus.ReadOptions{}, e.Usagef("dlq %s: give sequence numbers or --all", cmd), false
	}
	if !s.all && (s.filter.stage != "" || s.filter.name != "" || s.filter.since != "") {
		return bus.ReadOptions{}, e.Usagef("dlq %s: --stage, --name and --since go with --all", cmd), false
	}
	for _, p := range pos {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || n == 0 {
			return bus.ReadOptions{}, e.Usagef("dlq %s: %q is not a sequence number", cmd, p), false
		}
		s.seqs = append(s.seqs, n)
	}
	o, err := s.filter.readOptions(time.Now())
	if err != nil {
		return bus.ReadOptions{}, e.Usagef("dlq %s: %v", cmd, err), false
	}
	return o, 0, true
}

// each calls fn for every selected dead letter (a missing one as found
// false), with progress on stderr.
func (s *dlqSelection) each(ctx context.Context, e *Env, b *bus.Bus, o bus.ReadOptions, label string, fn func(m bus.StoredMsg, found bool) error) error {
	if s.all {
		var step func(int)
		done := func() {}
		err := b.ReadStream(ctx, bus.StreamDLQ, o, func(m bus.StoredMsg, total uint64) error {
			if step == nil {
				step, done = e.Progress(label, int(total))
			}
			step(1)
			return fn(m, true)
		})
		done()
		return err
	}
	// Named dead letters end with the tally's summary (dlqTally.summary), not
	// a "n/n" count that reads like success when none was found.
	step, _ := e.Progress(label, len(s.seqs))
	for _, seq := range s.seqs {
		if err := ctx.Err(); err != nil {
			return err
		}
		gctx, cancel := context.WithTimeout(ctx, e.Timeout)
		m, err := b.GetMsg(gctx, bus.StreamDLQ, seq)
		cancel()
		switch {
		case errors.Is(err, bus.ErrNotFound):
			err = fn(bus.StoredMsg{Stream: bus.StreamDLQ, Seq: seq}, false)
		case err == nil:
			err = fn(m, true)
		}
		if err != nil {
			return err
		}
		step(1)
	}
	return nil
}

// dlqTally counts outcomes and turns them into the exit code.
type dlqTally struct{ ok, notFound, failed int }

func (t *dlqTally) add(r dlqResult) {
	switch r.Result {
	case "not_found":
		t.notFound++
	case "failed":
		t.failed++
	default:
		t.ok++
	}
}

// errNoSuchDeadLetter is the error of a named dead letter that is not in
// IDV_DLQ, with the likely reason and where to look.
const errNoSuchDeadLetter = "no such dead letter in " + bus.StreamDLQ + " (already replayed or purged? idvctl dlq list shows those left)"

// summary is the last stderr line of a bulk command over named dead letters:
// what was done (done, e.g. "put back"), what was not found and what failed.
func (t dlqTally) summary(cmd, done string) string {
	s := fmt.Sprintf("idvctl dlq %s: %d %s", cmd, t.ok, done)
	if t.notFound > 0 {
		s += fmt.Sprintf(", %d not found", t.notFound)
	}
	if t.failed > 0 {
		s += fmt.Sprintf(", %d failed", t.failed)
	}
	return s
}

// code: 0 all done; 3 all named ones unknown; 5 part done; 1 nothing done.
func (t dlqTally) code() int {
	switch {
	case t.notFound == 0 && t.failed == 0:
		return ExitOK
	case t.ok > 0:
		return ExitPartial
	case t.failed == 0:
		return ExitNotFound
	}
	return ExitFailure
}

func dlqReplay(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(dlqReplayHelp)
	var sel dlqSelection
	sel.flags(fs)
	dry := fs.Bool("dry-run", false, "only show what would be put back")
	keep := fs.Bool("keep", false, "keep the dead letters in IDV_DLQ after putting them back")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	o, code, ok := sel.parse(e, "replay", pos)
	if !ok {
		return code
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	pb := newPutBack(b)
	var t dlqTally
	err := sel.each(ctx, e, b, o, "dlq replay", func(m bus.StoredMsg, found bool) error {
		r := replayDeadLetter(ctx, e, pb, m, found, *dry, *keep)
		t.add(r)
		e.Out(r.text(), r)
		return nil
	})
	if err != nil {
		return e.Errorf(ExitFailure, "dlq replay: %v (%d put back before)", err, t.ok)
	}
	if !e.Quiet {
		done := "put back"
		if *dry {
			done = "would be put back"
		}
		fmt.Fprintln(e.Stderr, t.summary("replay", done))
	}
	return t.code()
}

// replayDeadLetter puts one dead letter back and deletes it unless keep.
func replayDeadLetter(ctx context.Context, e *Env, pb *putBack, m bus.StoredMsg, found, dry, keep bool) dlqResult {
	r := dlqResult{Seq: m.Seq}
	if !found {
		r.Result, r.Error = "not_found", errNoSuchDeadLetter
		return r
	}
	d := newDLQEntry(m)
	r.Stage, r.Name = d.Stage, d.Name
	cctx, cancel := context.WithTimeout(ctx, e.Timeout)
	msg, stream, err := pb.fromDeadLetter(cctx, m)
	cancel()
	if err != nil {
		r.Result, r.Error = "failed", err.Error()
		return r
	}
	r.To = msg.Subject
	if dry {
		r.Result, r.Kept = "would_replay", true
		return r
	}
	r.NewSeq, err = pb.publish(ctx, e.Timeout, stream, msg)
	if err != nil {
		r.Result, r.Error = "failed", "not put back: "+err.Error()
		return r
	}
	r.Result = "replayed"
	if keep {
		r.Kept = true
		return r
	}
	dctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	if err := pb.b.DeleteMsg(dctx, bus.StreamDLQ, m.Seq, false); err != nil && !errors.Is(err, bus.ErrNotFound) {
		// Put back, but still listed: a second replay is harmless (same
		// ids), yet the operator must know.
		r.Result, r.Kept, r.Error = "failed", true, "put back, but the dead letter was not deleted: "+err.Error()
	}
	return r
}

func dlqPurge(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(dlqPurgeHelp)
	var sel dlqSelection
	sel.flags(fs)
	yes := fs.Bool("yes", false, "really delete")
	dry := fs.Bool("dry-run", false, "only show what would be deleted")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	o, code, ok := sel.parse(e, "purge", pos)
	if !ok {
		return code
	}
	if !*yes && !*dry {
		return e.Usagef("dlq purge deletes dead letters for good: add --yes (or --dry-run to see which)")
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	var t dlqTally
	err := sel.each(ctx, e, b, o, "dlq purge", func(m bus.StoredMsg, found bool) error {
		r := dlqResult{Seq: m.Seq, Result: "purged"}
		switch {
		case !found:
			r.Result, r.Error = "not_found", errNoSuchDeadLetter
		case *dry:
			d := newDLQEntry(m)
			r.Stage, r.Name, r.Result = d.Stage, d.Name, "would_purge"
		default:
			d := newDLQEntry(m)
			r.Stage, r.Name = d.Stage, d.Name
			dctx, cancel := context.WithTimeout(ctx, e.Timeout)
			err := b.DeleteMsg(dctx, bus.StreamDLQ, m.Seq, true)
			cancel()
			switch {
			case errors.Is(err, bus.ErrNotFound):
				r.Result, r.Error = "not_found", "deleted meanwhile"
			case err != nil:
				r.Result, r.Error = "failed", err.Error()
			}
		}
		t.add(r)
		e.Out(r.text(), r)
		return nil
	})
	if err != nil {
		return e.Errorf(ExitFailure, "dlq purge: %v (%d deleted before)", err, t.ok)
	}
	if !e.Quiet {
		done := "deleted"
		if *dry {
			done = "would be deleted"
		}
		fmt.Fprintln(e.Stderr, t.summary("purge", done))
	}
	return t.code()
}
