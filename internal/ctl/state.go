package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/normalize"
	"github.com/idvbus/idvbus/internal/vendors"
)

func init() {
	register(command{name: "state", args: "<vendor> <verification-id>",
		summary: "show a verification's current state and history", run: runState})
}

var stateHelp = helpText{
	name: "state", args: "<vendor> <verification-id> [flags]",
	purpose: "show one verification's state as the normalizer keeps it",
	details: stateDetails,
	examples: []string{
		"idvctl state persona inq_2Xk9   # status, decision, revision and the changes remembered",
		"idvctl --json state idwise 6f1c0d2e-aaaa-bbbb-cccc-000000000001   # the same as one JSON object",
	},
}

const stateDetails = `Shows one verification's state as the normalizer keeps it in KV IDV_STATE:
its status, who decided it, its revision and reference, the status changes it
remembers (the last 64), and the KV revisions the bucket still keeps (the last
10 writes, each with the status it held). Exit 3 when no state exists.`

// stateRevision is one kept KV revision of a state, summarized.
type stateRevision struct {
	Revision uint64    `json:"kv_revision"`
	Written  time.Time `json:"written"`
	Deleted  bool      `json:"deleted,omitempty"`
	Status   string    `json:"status,omitempty"`
	// StateRevision is the state's revision (emitted status changes) then.
	StateRevision uint64 `json:"revision"`
	Applied       int    `json:"applied_events"`
}

// stateResult is the --json output of state.
type stateResult struct {
	Vendor         string          `json:"vendor"`
	VerificationID string          `json:"verification_id"`
	Key            string          `json:"key"`
	State          json.RawMessage `json:"state"`
	KVRevisions    []stateRevision `json:"kv_revisions"`
}

func runState(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(stateHelp)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return e.Usagef("state needs <vendor> <verification-id>")
	}
	vendor, id := pos[0], pos[1]
	if _, known := vendors.Lookup(vendor); !known {
		return e.Usagef("unknown vendor %q (known: %s)", vendor, strings.Join(vendors.Names(), ", "))
	}
	b, code := e.BusOrExit()
	if b == nil {
		return code
	}
	key := bus.StateKey(vendor, id)
	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	hist, err := b.StateHistory(rctx, key)
	if errors.Is(err, bus.ErrNotFound) || (err == nil && hist[len(hist)-1].Deleted) {
		return e.Errorf(ExitNotFound, "no state for %s verification %q (key %s)", vendor, id, key)
	}
	if err != nil {
		return e.Errorf(ExitFailure, "%v", err)
	}
	cur := hist[len(hist)-1]
	var st normalize.State
	if err := json.Unmarshal(cur.Value, &st); err != nil {
		return e.Errorf(ExitFailure, "state %s: not a state: %v", key, err)
	}
	res := stateResult{Vendor: vendor, VerificationID: id, Key: key, State: cur.Value}
	for _, h := range hist {
		r := stateRevision{Revision: h.Revision, Written: h.Created.UTC(), Deleted: h.Deleted}
		var s normalize.State
		if !h.Deleted && json.Unmarshal(h.Value, &s) == nil {
			r.Status, r.StateRevision, r.Applied = string(s.Status), s.Revision, len(s.Applied)
		}
		res.KVRevisions = append(res.KVRevisions, r)
	}
	e.Out(stateText(st, res), res)
	return ExitOK
}

func stateText(st normalize.State, res stateResult) string {
	var b strings.Builder
	ref := st.ReferenceID
	if ref == "" {
		ref = "-"
	}
	status := string(st.Status)
	if status == "" {
		status = "(none yet)"
	}
	fmt.Fprintf(&b, "%s %s (source %s, reference %s)\n", st.Vendor, st.VerificationID, st.Source, ref)
	fmt.Fprintf(&b, "status %s", status)
	if st.DecidedBy != "" {
		fmt.Fprintf(&b, " by %s", st.DecidedBy)
	}
	fmt.Fprintf(&b, ", revision %d, %d vendor events applied, updated %s\n", st.Revision, len(st.Applied),
		st.UpdatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "status changes:\n")
	if len(st.History) == 0 {
		fmt.Fprintf(&b, "  (none)\n")
	}
	for _, c := range st.History {
		at := "-"
		if !c.OccurredAt.IsZero() {
			at = c.OccurredAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "  rev %-3d %-22s by %-13s %-28s at %s raw seq %d\n", c.Revision, c.Status, c.DecidedBy, c.VendorEvent, at, c.RawSeq)
	}
	fmt.Fprintf(&b, "kv revisions of %s (oldest first):", res.Key)
	for _, r := range res.KVRevisions {
		if r.Deleted {
			fmt.Fprintf(&b, "\n  %-6d %s deleted", r.Revision, r.Written.Format(time.RFC3339))
			continue
		}
		fmt.Fprintf(&b, "\n  %-6d %s status %s rev %d, %d events applied", r.Revision, r.Written.Format(time.RFC3339),
			orDash(r.Status), r.StateRevision, r.Applied)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
