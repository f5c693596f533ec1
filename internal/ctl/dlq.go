package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/notify"
)

func init() {
	register(command{
		name: "dlq", args: "list|show|replay|purge [flags]",
		summary: "inspect dead letters, put them back after a fix, or delete them",
		run:     runDLQ,
	})
}

// dlqSubcommands are dlq's subcommands, in the order its help shows them.
var dlqSubcommands = []subcommand{
	{&dlqListHelp, dlqList}, {&dlqShowHelp, dlqShow}, {&dlqReplayHelp, dlqReplay}, {&dlqPurgeHelp, dlqPurge},
}

var (
	dlqListHelp = helpText{
		name: "dlq list", args: "[--stage S] [--name N] [--since T]",
		purpose: "list the dead letters in IDV_DLQ, oldest first: why each failed, where it came from, how often it was tried",
		examples: []string{
			"idvctl dlq list   # every dead letter",
			"idvctl dlq list --stage notify --name onboarding --since 24h   # one subscriber's, of the last day",
		},
	}
	dlqShowHelp = helpText{
		name: "dlq show", args: "<seq> [--body]",
		purpose: "show one dead letter: every header and the body size",
		details: "The body is personal data: it is printed only with --body.",
		examples: []string{
			"idvctl dlq show 42   # headers of dead letter 42 (its IDV_DLQ sequence)",
			"idvctl dlq show 42 --body > letter.json   # with the body, into a file",
		},
	}
	dlqReplayHelp = helpText{
		name: "dlq replay", args: "<seq>... | --all [--stage S] [--name N] [--since T] [--dry-run] [--keep]",
		purpose: "put dead letters back after the cause was fixed",
		details: `A normalize one goes back into IDV_RAW (re-normalized with the same event ids),
a notify one to that subscriber only (same webhook-id). Once JetStream
confirmed the copy, the dead letter is deleted (unless --keep); one that fails
again is dead-lettered anew.`,
		examples: []string{
			"idvctl dlq replay 42 43   # two dead letters, by sequence",
			"idvctl dlq replay --all --stage notify --name onboarding --dry-run   # what a subscriber's replay would do",
		},
	}
	dlqPurgeHelp = helpText{
		name: "dlq purge", args: "<seq>... | --all [--stage S] [--name N] [--since T] --yes",
		purpose: "delete dead letters for good (their content is overwritten on disk); nothing is put back",
		examples: []string{
			"idvctl dlq purge 42 --yes   # one dead letter",
			"idvctl dlq purge --all --stage normalize --name persona --dry-run   # which ones --yes would delete",
		},
	}
)

// dlqHelp is `idvctl dlq -h`: the group, then each subcommand's whole help
// (with its flags).
var dlqHelp = helpText{
	name: "dlq", args: "<list|show|replay|purge> [args] [flags]",
	purpose: "inspect dead letters, put them back after a fix, or delete them",
	details: `Dead letters are in stream IDV_DLQ, subjects idv.dlq.<stage>.<name>
(stage normalize or notify; name: the source for normalize, the subscriber
for notify). Each subcommand's help with its flags follows.`,
	examples: []string{
		"idvctl dlq list --since 1h   # the dead letters of the last hour",
		"idvctl dlq replay --all --stage normalize --name persona   # re-normalize a source's after a mapping fix",
	},
}

func runDLQ(ctx context.Context, e *Env, args []string) int {
	return runGroup(ctx, e, dlqHelp, dlqSubcommands, args)
}

// subcommand is one command of a group such as dlq or subscriber; its help
// names it "<group> <subcommand>".
type subcommand struct {
	help *helpText
	run  func(ctx context.Context, e *Env, args []string) int
}

// runGroup runs the subcommand of group that args name. -h and --help print
// the group's help, then each subcommand's whole help (with its flags).
func runGroup(ctx context.Context, e *Env, group helpText, subs []subcommand, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(e.Stderr, "usage: %s\n(idvctl %s -h for more)\n", group.usageLine(), group.name)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		group.write(e.Stdout, nil)
		for _, sc := range subs {
			fmt.Fprintln(e.Stdout, "\n---")
			sc.run(ctx, e, []string{"-h"})
		}
		return ExitOK
	}
	for _, sc := range subs {
		if group.name+" "+args[0] == sc.help.name {
			return sc.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.Stderr, "usage: %s\n", group.usageLine())
	return e.Usagef("%s: unknown subcommand %q", group.name, args[0])
}

// dlqEntry is what list, show and replay report about one dead letter. It
// never holds the body: dead letters carry personal data.
type dlqEntry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Stage    string    `json:"stage"`
	Name     string    `json:"name"`
	Reason   string    `json:"reason"`
	Attempts uint64    `json:"attempts"`
	// LastStatus is the HTTP status of the last attempt (notify).
	LastStatus      int    `json:"last_status,omitempty"`
	OriginalSubject string `json:"original_subject"`
	OriginalSeq     uint64 `json:"original_seq"`
	// ReplayOf is set when the dead letter came from a put-back copy.
	ReplayOf string `json:"replay_of,omitempty"`
	// The CloudEvent (notify).
	EventID      string `json:"event_id,omitempty"`
	EventType    string `json:"event_type,omitempty"`
	EventSubject string `json:"event_subject,omitempty"`
	// The raw webhook (normalize).
	RawKey string `json:"raw_key,omitempty"`
	Size   int    `json:"size"`
}

func newDLQEntry(m bus.StoredMsg) dlqEntry {
	h := m.Header
	e := dlqEntry{
		Seq: m.Seq, Time: m.Time.UTC(), Stage: h.Get(bus.HeaderStage),
		Reason: h.Get(bus.HeaderError), OriginalSubject: h.Get(bus.HeaderOriginalSubject),
		ReplayOf: h.Get(bus.HeaderReplayOf), EventID: h.Get("ce-id"), EventType: h.Get("ce-type"),
		EventSubject: h.Get("ce-subject"), RawKey: h.Get(bus.HeaderRawKey), Size: len(m.Data),
	}
	if rest, ok := strings.CutPrefix(m.Subject, "idv.dlq."); ok {
		stage, name, _ := strings.Cut(rest, ".")
		if e.Stage == "" {
			e.Stage = stage
		}
		e.Name = name
	}
	e.Attempts, _ = strconv.ParseUint(h.Get(bus.HeaderAttempts), 10, 64)
	e.OriginalSeq, _ = strconv.ParseUint(h.Get(bus.HeaderOriginalSeq), 10, 64)
	e.LastStatus, _ = strconv.Atoi(h.Get(notify.HeaderLastStatus))
	return e
}

// text is the one-line form of an entry.
func (d dlqEntry) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d  %s  %s/%s  attempts=%d", d.Seq, d.Time.Format(time.RFC3339), d.Stage, d.Name, d.Attempts)
	if d.LastStatus != 0 {
		fmt.Fprintf(&b, " status=%d", d.LastStatus)
	}
	fmt.Fprintf(&b, "  from %s#%d", d.OriginalSubject, d.OriginalSeq)
	if d.EventID != "" {
		fmt.Fprintf(&b, "  event %s %s %s", d.EventID, d.EventType, d.EventSubject)
	}
	if d.RawKey != "" {
		fmt.Fprintf(&b, "  raw %s", d.RawKey)
	}
	fmt.Fprintf(&b, "  reason: %s", d.Reason)
	return b.String()
}

// dlqFilter chooses dead letters by stage, name and time.
type dlqFilter struct {
	stage, name, since string
}

func (f *dlqFilter) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.stage, "stage", "", "only this stage: normalize or notify")
	fs.StringVar(&f.name, "name", "", "only this source (normalize) or subscriber (notify)")
	fs.StringVar(&f.since, "since", "", "only dead letters stored since: an RFC 3339 time or a duration ago (24h)")
}

// readOptions turns the filter into what bus.ReadStream reads.
func (f *dlqFilter) readOptions(now time.Time) (bus.ReadOptions, error) {
	stage, name := "*", "*"
	switch f.stage {
	case "":
	case bus.StageNormalize, bus.StageNotify:
		stage = f.stage
	default:
		return bus.ReadOptions{}, fmt.Errorf("--stage %q: want normalize or notify", f.stage)
	}
	if f.name != "" {
		if !config.NamePattern.MatchString(f.name) {
			return bus.ReadOptions{}, fmt.Errorf("--name %q is not a source or subscriber name", f.name)
		}
		name = f.name
	}
	o := bus.ReadOptions{Subjects: []string{bus.DLQSubject(stage, name)}}
	if f.since != "" {
		t, err := pointInTime(f.since, now)
		if err != nil {
			return bus.ReadOptions{}, fmt.Errorf("--since: %w", err)
		}
		o.StartTime = t
	}
	return o, nil
}

func dlqList(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(dlqListHelp)
	var f dlqFilter
	f.flags(fs)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.Usagef("dlq list takes no arguments")
	}
	o, err := f.readOptions(time.Now())
	if err != nil {
		return e.Usagef("%v", err)
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	n := 0
	err = b.ReadStream(ctx, bus.StreamDLQ, o, func(m bus.StoredMsg, _ uint64) error {
		d := newDLQEntry(m)
		e.Out(d.text(), d)
		n++
		return nil
	})
	if err != nil {
		return e.Errorf(ExitFailure, "dlq list: %v", err)
	}
	if !e.Quiet {
		if n == 1 {
			fmt.Fprintln(e.Stderr, "1 dead letter")
		} else {
			fmt.Fprintf(e.Stderr, "%d dead letters\n", n)
		}
	}
	return ExitOK
}

// dlqShown is the --json form of dlq show.
type dlqShown struct {
	dlqEntry
	Headers    map[string][]string `json:"headers"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 []byte              `json:"body_base64,omitempty"`
}

func dlqShow(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(dlqShowHelp)
	body := fs.Bool("body", false, "print the body too (personal data: mind where the output goes)")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.Usagef("dlq show takes one sequence number")
	}
	seq, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || seq == 0 {
		return e.Usagef("dlq show: %q is not a sequence number", pos[0])
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	m, err := b.GetMsg(ctx, bus.StreamDLQ, seq)
	if errors.Is(err, bus.ErrNotFound) {
		return e.Errorf(ExitNotFound, "dlq show: no dead letter %d in %s", seq, bus.StreamDLQ)
	}
	if err != nil {
		return e.Errorf(ExitFailure, "dlq show: %v", err)
	}
	d := dlqShown{dlqEntry: newDLQEntry(m), Headers: m.Header}
	if *body {
		if utf8.Valid(m.Data) {
			d.Body = string(m.Data)
		} else {
			d.BodyBase64 = m.Data
		}
	}
	var t strings.Builder
	fmt.Fprintf(&t, "seq:      %d\nstored:   %s\nsubject:  %s\nreason:   %s\nbody:     %d bytes\nheaders:\n",
		m.Seq, m.Time.UTC().Format(time.RFC3339Nano), m.Subject, d.Reason, len(m.Data))
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range m.Header[k] {
			fmt.Fprintf(&t, "  %s: %s\n", k, v)
		}
	}
	if *body {
		fmt.Fprintf(&t, "\n%s", m.Data)
	}
	e.Out(strings.TrimRight(t.String(), "\n"), d)
	return ExitOK
}
