package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

func init() {
	register(command{
		name: "subscriber", args: "list|resume <name>",
		summary: "list disabled subscribers (they answered 410 Gone) and resume one",
		run:     runSubscriber,
	})
}

// subscriberSubcommands are subscriber's subcommands, in the order its help
// shows them.
var subscriberSubcommands = []subcommand{
	{&subscriberListHelp, subscriberList}, {&subscriberResumeHelp, subscriberResume},
}

var (
	subscriberListHelp = helpText{
		name: "subscriber list", purpose: "list the subscribers disabled because they answered 410 Gone",
		examples: []string{
			"idvctl subscriber list   # name, since when, the status and the event that disabled it",
			"idvctl --json subscriber list   # one JSON object per line, for scripts",
		},
	}
	subscriberResumeHelp = helpText{
		name: "subscriber resume", args: "<name>",
		purpose: "deliver to a disabled subscriber again, from where it stopped",
		details: `Removes the mark (KV IDV_DELIVERIES, key _DISABLED.<name>); the notifiers pick
that up within 5 s and deliver the events its consumer held.`,
		examples: []string{
			"idvctl subscriber resume onboarding   # after the endpoint is back",
			"idvctl --nats nats://nats:4222 subscriber resume onboarding   # against a cluster",
		},
	}
)

// subscriberHelp is `idvctl subscriber -h`: the group, then each
// subcommand's whole help (with its flags).
var subscriberHelp = helpText{
	name: "subscriber", args: "<list|resume> [args] [flags]",
	purpose: "list disabled subscribers (they answered 410 Gone) and resume one",
	details: `A subscriber that answers 410 Gone is disabled: the notifier sends it nothing
more and dead-letters nothing for it; its consumer notify-<name> keeps every
event until it is resumed. A restart does not re-enable it. Each
subcommand's help with its flags follows.`,
	examples: []string{
		"idvctl subscriber list   # which subscribers are disabled",
		"idvctl subscriber resume onboarding   # deliver to it again",
	},
}

func runSubscriber(ctx context.Context, e *Env, args []string) int {
	return runGroup(ctx, e, subscriberHelp, subscriberSubcommands, args)
}

// disabledJSON is one disabled subscriber, as list and status report it.
type disabledJSON struct {
	Name       string     `json:"name"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	Status     int        `json:"status,omitempty"`
	EventID    string     `json:"event_id,omitempty"`
}

// collectDisabled reads every disabled mark, sorted by subscriber.
func collectDisabled(ctx context.Context, b *bus.Bus) ([]disabledJSON, error) {
	store, err := b.Deliveries(ctx)
	if err != nil {
		return nil, err
	}
	marks, err := store.ListDisabled(ctx)
	if err != nil {
		return nil, err
	}
	out := []disabledJSON{}
	for name, v := range marks {
		var m struct {
			DisabledAt time.Time `json:"disabled_at"`
			Status     int       `json:"status"`
			EventID    string    `json:"event_id"`
		}
		_ = json.Unmarshal(v, &m) // an unreadable mark is still listed
		d := disabledJSON{Name: name, Status: m.Status, EventID: m.EventID}
		if !m.DisabledAt.IsZero() {
			t := m.DisabledAt.UTC()
			d.DisabledAt = &t
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func disabledText(ds []disabledJSON) string {
	if len(ds) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		since := "since ?"
		if d.DisabledAt != nil {
			since = "since " + d.DisabledAt.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "  %-24s disabled %s (HTTP %d on event %s); idvctl subscriber resume %s", d.Name, since, d.Status, d.EventID, d.Name)
	}
	return b.String()
}

func subscriberList(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(subscriberListHelp)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.Usagef("subscriber list takes no arguments")
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	ds, err := collectDisabled(rctx, b)
	if err != nil {
		return e.Errorf(ExitFailure, "%v", err)
	}
	e.Out("disabled subscribers:\n"+disabledText(ds), ds)
	return ExitOK
}

func subscriberResume(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(subscriberResumeHelp)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || !config.NamePattern.MatchString(pos[0]) {
		return e.Usagef("subscriber resume takes one subscriber name")
	}
	name := pos[0]
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	store, err := b.Deliveries(rctx)
	if err != nil {
		return e.Errorf(ExitFailure, "%v", err)
	}
	if err := store.Resume(rctx, name); err != nil {
		if errors.Is(err, bus.ErrNotFound) {
			return e.Errorf(ExitNotFound, "subscriber %s is not disabled", name)
		}
		return e.Errorf(ExitFailure, "%v", err)
	}
	e.Out("resumed "+name+": the notifiers deliver to it again within 5 s", map[string]string{"resumed": name})
	return ExitOK
}
