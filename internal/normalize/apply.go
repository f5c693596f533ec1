package normalize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Policy is a source's decision_policy.
type Policy string

// Decision policies.
const (
	// PolicyVendor: decisions come only from the vendor.
	PolicyVendor Policy = "vendor"
	// PolicyAuto: passed also becomes approved and failed becomes declined
	// (decided_by policy); a later vendor or manual decision still overrides it.
	PolicyAuto Policy = "auto"
)

// Input is one parsed vendor webhook and where it came from.
type Input struct {
	Source string
	Vendor string
	Policy Policy
	// RawKey is the webhook's raw dedup key (its Nats-Msg-Id in IDV_RAW);
	// event ids derive from it.
	RawKey     string
	RawStream  string
	RawSeq     uint64
	ReceivedAt time.Time
	Report     report.Report
	// Now is when the state is written.
	Now time.Time
}

// Result says what applying one webhook did.
type Result struct {
	// Duplicate: the vendor event was applied before; nothing changed.
	Duplicate bool
	// Statuses and Checks count the events emitted.
	Statuses, Checks int
	// Stale counts status or check updates that changed nothing because a
	// newer one was applied before (rules 3 and 4).
	Stale int
}

// appliedKey is the key the verification remembers in.Report as applied by:
// the parser's Key (stable across a vendor's re-serialized retries), else the
// raw key. A webhook stored under a collision key (ingest found a different
// body under its vendor id, [bus.IsCollisionKey]) is a different webhook by
// definition, so it is remembered by its raw key, unique to its body, and
// applied even when its parser's Key equals the first body's.
func appliedKey(in Input) string {
	if in.Report.Key == "" || bus.IsCollisionKey(in.Source, in.RawKey) {
		return in.RawKey
	}
	return in.Report.Key
}

// Apply applies one vendor webhook to a verification's state and returns the
// new state and the events to emit, implementing the contract's ordering and
// duplicate rules:
//
//  1. a vendor event already applied (by its report key, else its raw key)
//     changes nothing and emits nothing;
//  2. revision rises by exactly one per emitted status change;
//  3. with vendor event times, a status older than the current one's is stale:
//     events are ordered by (time, status rank, status name), a total order,
//     so every permutation of the same events ends in the same state;
//  4. without vendor times, status never moves down the rank of
//     [idv.Status.Rank], except resubmission_requested → in_progress and
//     manual-review outcomes, which always apply.
//
// Check results are emitted once per vendor event; with vendor times a result
// older than the last one applied for the same check instance is stale.
// Apply is pure: s is not modified.
// An error (event data that cannot be encoded, e.g. a time past year 9999) is
// permanent.
func Apply(s State, in Input) (State, []Output, Result, error) {
	r := in.Report
	h := hashKey(appliedKey(in))
	if slices.Contains(s.Applied, h) {
		return s, nil, Result{Duplicate: true}, nil
	}
	n := s.clone()
	n.Version = StateVersion
	n.Vendor = in.Vendor
	n.VerificationID = r.VerificationID
	n.Source = in.Source
	if r.ReferenceID != "" {
		n.ReferenceID = r.ReferenceID
	}
	e := emitter{in: in, s: &n}
	var res Result
	if u := r.Status; u != nil && u.Status.Valid() {
		if n.statusApplies(*u, r.OccurredAt) {
			e.status(*u)
		} else {
			res.Stale++
		}
	}
	for i, c := range r.Checks {
		if !c.Check.Valid() || !c.Result.Valid() {
			continue
		}
		id := c.ID
		if id == "" {
			id = c.VendorCheck
		}
		if !r.OccurredAt.IsZero() {
			if last, ok := n.Checks[id]; ok && r.OccurredAt.Before(last) {
				res.Stale++
				continue
			}
			if _, ok := n.Checks[id]; ok || len(n.Checks) < MaxTrackedChecks {
				if n.Checks == nil {
					n.Checks = map[string]time.Time{}
				}
				n.Checks[id] = r.OccurredAt
			}
		}
		e.check(i, c)
	}
	res.Statuses, res.Checks = e.statuses, len(e.out)-e.statuses
	n.remember(h)
	if len(e.out) > 0 {
		n.Outbox = &Outbox{Key: h, Source: in.Source, RawSeq: in.RawSeq, Written: in.Now, Events: e.out}
	}
	n.UpdatedAt = in.Now
	if e.err != nil {
		return s, nil, Result{}, e.err
	}
	return n, e.out, res, nil
}

// statusApplies decides whether a reported status replaces the current one.
func (s *State) statusApplies(u report.StatusUpdate, at time.Time) bool {
	if s.Status == "" {
		return true
	}
	rank := u.Status.Rank()
	if !at.IsZero() && !s.StatusAt.IsZero() {
		switch {
		case at.After(s.StatusAt):
			return true
		case at.Before(s.StatusAt):
			return false
		case rank != s.StatusRank:
			return rank > s.StatusRank
		default:
			return u.Status > s.StatusFrom
		}
	}
	if u.DecidedBy == idv.DecidedByManualReview {
		return true
	}
	if s.Status == idv.StatusResubmissionRequested && u.Status == idv.StatusInProgress {
		return true
	}
	return rank >= s.StatusRank
}

// emitter collects the events of one webhook.
type emitter struct {
	in       Input
	s        *State
	out      []Output
	statuses int
	err      error
}

// status applies a status the ordering rules accepted, emitting one or (with
// decision_policy auto) two status changes.
func (e *emitter) status(u report.StatusUpdate) {
	at := e.in.Report.OccurredAt
	e.s.StatusAt, e.s.StatusRank, e.s.StatusFrom = at, u.Status.Rank(), u.Status
	by := u.DecidedBy
	if !by.Valid() {
		by = idv.DecidedByVendor
	}
	final := u.Status
	if e.in.Policy == PolicyAuto {
		switch u.Status {
		case idv.StatusPassed:
			final = idv.StatusApproved
		case idv.StatusFailed:
			final = idv.StatusDeclined
		}
	}
	if final == e.s.Status {
		return
	}
	if final != u.Status && u.Status != e.s.Status {
		e.change(u, u.Status, by)
	}
	if final != u.Status {
		by = idv.DecidedByPolicy
	}
	e.change(u, final, by)
}

func (e *emitter) change(u report.StatusUpdate, to idv.Status, by idv.DecidedBy) {
	s, in := e.s, e.in
	s.Revision++
	d := idv.VerificationUpdated{
		VerificationID: s.VerificationID,
		Vendor:         in.Vendor,
		Source:         in.Source,
		ReferenceID:    s.ReferenceID,
		Status:         to,
		PreviousStatus: s.Status,
		Terminal:       to.Terminal(),
		DecidedBy:      by,
		Revision:       s.Revision,
		VendorEvent:    in.Report.Event,
		VendorStatus:   u.VendorStatus,
		OccurredAt:     e.occurredAt(),
		ReceivedAt:     in.ReceivedAt.UTC(),
		Raw:            idv.RawRef{Stream: in.RawStream, Seq: in.RawSeq},
	}
	s.Status, s.DecidedBy = to, by
	s.record(Change{Revision: s.Revision, Status: to, DecidedBy: by, VendorEvent: d.VendorEvent, OccurredAt: d.OccurredAt, RawSeq: in.RawSeq})
	e.add("s"+strconv.Itoa(e.statuses), idv.TypeVerificationUpdated, idv.VerificationSubject(in.Vendor, to), d)
	e.statuses++
}

func (e *emitter) check(i int, c report.CheckUpdate) {
	in := e.in
	d := idv.CheckCompleted{
		VerificationID: e.s.VerificationID,
		Vendor:         in.Vendor,
		Source:         in.Source,
		ReferenceID:    e.s.ReferenceID,
		Check:          c.Check,
		Result:         c.Result,
		VendorCheck:    c.VendorCheck,
		VendorResult:   c.VendorResult,
		OccurredAt:     e.occurredAt(),
		ReceivedAt:     in.ReceivedAt.UTC(),
		Raw:            idv.RawRef{Stream: in.RawStream, Seq: in.RawSeq},
	}
	e.add("c"+strconv.Itoa(i), idv.TypeCheckCompleted, idv.CheckSubject(in.Vendor, c.Check), d)
}

func (e *emitter) occurredAt() time.Time {
	if t := e.in.Report.OccurredAt; !t.IsZero() {
		return t.UTC()
	}
	return e.in.ReceivedAt.UTC()
}

func (e *emitter) add(pos string, typ idv.EventType, subject string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		e.err = fmt.Errorf("encode %s: %w", typ, err)
		return
	}
	e.out = append(e.out, Output{
		ID:      EventID(e.in.RawKey, pos),
		Type:    typ,
		Subject: subject,
		Time:    e.occurredAt(),
		Data:    b,
	})
}

// EventID derives a CloudEvent id from the raw dedup key of the webhook and
// the output's position in it ("s0", "s1" for status changes, "c<i>" for the
// i-th check of the report): 128 bits of SHA-256 in hex. Redelivery and replay
// of the same webhook give the same ids, which JetStream then drops as
// duplicates (Nats-Msg-Id) and subscribers can use to deduplicate.
func EventID(rawKey, pos string) string {
	h := sha256.New()
	h.Write([]byte(rawKey))
	h.Write([]byte{0})
	h.Write([]byte(pos))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
