package ctl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/sdk/idv"
)

func init() {
	register(command{name: "tail", args: "[filters] [--all|--since D|--last N]",
		summary: "print normalized events as they arrive", run: runTail})
}

var tailHelp = helpText{
	name: "tail", args: "[filters] [--since D|--all|--last N] [--count N] [--idle D]",
	purpose: "print the normalized CloudEvents as they arrive",
	details: tailDetails,
	examples: []string{
		"idvctl tail --status approved,declined   # new decisions as they come",
		"idvctl tail --verification inq_2Xk9 --all --json   # one verification's whole history, as CloudEvent JSON",
	},
}

const tailDetails = `Prints the normalized CloudEvents of IDV_EVENTS as they arrive, one line each
(--json: the structured CloudEvent JSON), in stream order. It reads through an
ephemeral ordered consumer: nothing is acknowledged and no subscriber is affected.

Filters (each may be repeated or comma-separated; the server filters by subject):
  --vendor persona  --type verification|check  --status approved  --check selfie
  --verification ID (the CloudEvent subject)  --source NAME
Start: new events (default), --since 10m or --since 2026-01-02T15:04:05Z, --all,
or --last N (the last N events passing the vendor, type, status and check
filters, then new ones; --verification and --source then apply to those).
Stop: Ctrl-C, --count N (after N events), --idle D (after D without an event).
Exit 0; 3 when --idle ended it before --count events came; 1 NATS unreachable.`

// stringList is a flag that may be repeated and holds comma-separated values.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// tailFlags are tail's selection and stop settings.
type tailFlags struct {
	vendors, types, statuses, checks, verifications, sources stringList
	since                                                    string
	all                                                      bool
	last, count                                              int
	idle                                                     time.Duration
}

func runTail(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(tailHelp)
	var f tailFlags
	fs.Var(&f.vendors, "vendor", "only these vendors")
	fs.Var(&f.types, "type", "only these event types: verification, check (or the full CloudEvent types)")
	fs.Var(&f.statuses, "status", "only verification events with these statuses")
	fs.Var(&f.checks, "check", "only check events of these checks")
	fs.Var(&f.verifications, "verification", "only events of these verification ids")
	fs.Var(&f.sources, "source", "only events of these configured sources")
	fs.StringVar(&f.since, "since", "", "start with events stored since a duration ago (10m) or a time (RFC 3339)")
	fs.BoolVar(&f.all, "all", false, "start with the first stored event")
	fs.IntVar(&f.last, "last", 0, "start with the last N matching events")
	fs.IntVar(&f.count, "count", 0, "stop after N events")
	fs.DurationVar(&f.idle, "idle", 0, "stop after this long without an event")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.Usagef("tail takes no arguments (got %q); filters are flags", pos[0])
	}
	o, filter, msg := f.options(time.Now())
	if msg != "" {
		return e.Usagef("%s", msg)
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	if !e.Quiet {
		fmt.Fprintf(e.Stderr, "tailing %s (%s) from %s; Ctrl-C stops\n", bus.StreamEvents,
			strings.Join(o.FilterSubjects, " "), f.startText())
	}
	seen := 0
	err := b.Tail(ctx, o, func(m *bus.Msg) error {
		if !filter.MatchSubject(m.Subject()) {
			return nil
		}
		ev, err := idv.FromNATS(m.Header(), m.Data())
		if err != nil {
			fmt.Fprintf(e.Stderr, "idvctl: %s seq %d: %v\n", m.Subject(), m.StreamSeq, err)
			return nil
		}
		if !f.keeps(ev) {
			return nil
		}
		e.Out(eventLine(ev), ev)
		seen++
		if f.count > 0 && seen >= f.count {
			return bus.ErrStopTail
		}
		return nil
	})
	switch {
	case errors.Is(err, bus.ErrTailIdle):
		if f.count > 0 && seen < f.count {
			return e.Errorf(ExitNotFound, "%d of %d events within the idle time %s", seen, f.count, f.idle)
		}
		return ExitOK
	case err != nil:
		return e.Errorf(ExitFailure, "%v", err)
	}
	return ExitOK
}

// options turns the flags into the tail's options and the subject filter;
// msg explains a usage problem.
func (f *tailFlags) options(now time.Time) (bus.TailOptions, idv.Filter, string) {
	filter := idv.Filter{Vendors: f.vendors}
	for _, s := range f.statuses {
		filter.Statuses = append(filter.Statuses, idv.Status(s))
	}
	for _, c := range f.checks {
		filter.Checks = append(filter.Checks, idv.Check(c))
	}
	for _, t := range f.types {
		typ := idv.EventType(t)
		switch t {
		case "verification":
			typ = idv.TypeVerificationUpdated
		case "check":
			typ = idv.TypeCheckCompleted
		}
		filter.Types = append(filter.Types, typ)
	}
	if len(filter.Types) == 0 && len(filter.Statuses) == 0 && len(filter.Checks) == 0 {
		// Unlike a subscriber's filter, a tail shows everything by default.
		filter.Types = idv.EventTypes()
	}
	if err := filter.Validate(); err != nil {
		return bus.TailOptions{}, filter, strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	starts := 0
	for _, set := range []bool{f.since != "", f.all, f.last > 0} {
		if set {
			starts++
		}
	}
	if starts > 1 {
		return bus.TailOptions{}, filter, "choose one of --since, --all and --last"
	}
	if f.last < 0 || f.count < 0 || f.idle < 0 {
		return bus.TailOptions{}, filter, "--last, --count and --idle must not be negative"
	}
	o := bus.TailOptions{Stream: bus.StreamEvents, FilterSubjects: filter.Subjects(), Idle: f.idle,
		Start: bus.TailStart{All: f.all, Last: f.last}}
	if f.since != "" {
		t, err := pointInTime(f.since, now)
		if err != nil {
			return o, filter, "--since " + err.Error()
		}
		o.Start.Since = t
	}
	return o, filter, ""
}

func (f *tailFlags) startText() string {
	switch {
	case f.last > 0:
		return "the last " + strconv.Itoa(f.last) + " events"
	case f.since != "":
		return "--since " + f.since
	case f.all:
		return "the first event"
	}
	return "new events"
}

// keeps applies the filters the subject cannot express.
func (f *tailFlags) keeps(ev idv.CloudEvent) bool {
	if len(f.verifications) > 0 && !contains(f.verifications, ev.Subject) {
		return false
	}
	if len(f.sources) > 0 && !contains(f.sources, strings.TrimPrefix(ev.Source, "/sources/")) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eventLine is the human line of an event: time, vendor, verification, what
// happened, revision and decider (status changes), reference, event id.
func eventLine(ev idv.CloudEvent) string {
	ts := ev.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	vendor := ev.Vendor()
	var what, ref string
	switch idv.EventType(ev.Type) {
	case idv.TypeVerificationUpdated:
		d, err := idv.DecodeVerificationUpdated(ev)
		if err != nil {
			return fmt.Sprintf("%s %s %s (undecodable data: %v) id %s", ts, vendor, ev.Subject, err, ev.ID)
		}
		what = fmt.Sprintf("%s rev %d by %s", d.Status, d.Revision, d.DecidedBy)
		ref = d.ReferenceID
	case idv.TypeCheckCompleted:
		d, err := idv.DecodeCheckCompleted(ev)
		if err != nil {
			return fmt.Sprintf("%s %s %s (undecodable data: %v) id %s", ts, vendor, ev.Subject, err, ev.ID)
		}
		what = fmt.Sprintf("check %s %s", d.Check, d.Result)
		ref = d.ReferenceID
	default:
		what = ev.Type
	}
	if ref == "" {
		ref = "-"
	}
	return fmt.Sprintf("%s %-8s %s %s ref %s id %s", ts, vendor, ev.Subject, what, ref, ev.ID)
}
