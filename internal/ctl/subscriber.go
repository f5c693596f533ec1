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

const subscriberUsage = `usage: idvctl subscriber <subcommand>

  list            the subscribers disabled because they answered 410 Gone
  resume <name>   deliver to a disabled subscriber again, from where it stopped

A subscriber that answers 410 Gone is disabled: the notifier sends it nothing
more and dead-letters nothing for it; its consumer notify-<name> keeps every
event. resume removes the mark (KV IDV_DELIVERIES, key _DISABLED.<name>); the
notifiers pick that up within 5 s and deliver the held events.`

func runSubscriber(ctx context.Context, e *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.Stderr, subscriberUsage)
		return ExitUsage
	}
	switch args[0] {
	case "list":
		return subscriberList(ctx, e, args[1:])
	case "resume":
		return subscriberResume(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.Stdout, subscriberUsage)
		return ExitOK
	}
	fmt.Fprintln(e.Stderr, subscriberUsage)
	return e.Usagef("subscriber: unknown subcommand %q", args[0])
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
	fs := e.FlagSet("subscriber list", "", "Lists the subscribers disabled because they answered 410 Gone.")
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
	fs := e.FlagSet("subscriber resume", "<name>", "Resumes delivery to a subscriber disabled after a 410 Gone, from where it stopped.")
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
