package normalize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
)

// Limits of what one verification's state remembers. A verification sees a
// handful to a few dozen vendor events in its life, so these bounds are far
// from reached in practice; they only keep a hostile or buggy sender from
// growing one KV value without end.
const (
	// MaxApplied vendor event keys are remembered per verification (oldest
	// forgotten first): a redelivery of any of them, however late, emits nothing.
	MaxApplied = 512
	// MaxHistory status changes are kept per verification for operators.
	MaxHistory = 64
	// MaxTrackedChecks check instances are ordered per verification.
	MaxTrackedChecks = 256
)

// StateVersion is the format version of [State] in KV IDV_STATE.
const StateVersion = 1

// State is one verification's state, stored as JSON in KV IDV_STATE under
// <vendor>.<escaped verification id>.
type State struct {
	Version        int    `json:"v"`
	Vendor         string `json:"vendor"`
	VerificationID string `json:"verification_id"`
	// Source is the source of the last applied event.
	Source      string        `json:"source"`
	ReferenceID string        `json:"reference_id,omitempty"`
	Status      idv.Status    `json:"status,omitempty"`
	DecidedBy   idv.DecidedBy `json:"decided_by,omitempty"`
	// Revision counts emitted status changes.
	Revision uint64 `json:"revision"`
	// StatusAt and StatusRank order status changes (contract rules 3 and 4):
	// the vendor time (zero when the vendor gives none) and the rank of the
	// vendor-reported status of the event that set the current status. For a
	// status derived by decision_policy auto they are those of the passed or
	// failed it came from, so a later vendor decision still overrides it.
	StatusAt   time.Time  `json:"status_at,omitzero"`
	StatusRank int        `json:"status_rank,omitempty"`
	StatusFrom idv.Status `json:"status_from,omitempty"`
	// Checks holds, per check instance, the vendor time of its last applied
	// result (only for vendors that give event times).
	Checks map[string]time.Time `json:"checks,omitempty"`
	// Applied lists the (hashed) keys of the vendor events applied, oldest first.
	Applied []string `json:"applied"`
	// History lists the last status changes, oldest first.
	History []Change `json:"history,omitempty"`
	// Outbox holds the events of the last event that emitted any, so they can
	// be published again if the process died between writing this state and
	// publishing them (see docs/decisions.md D10).
	Outbox    *Outbox   `json:"outbox,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Change is one emitted status change.
type Change struct {
	Revision    uint64        `json:"revision"`
	Status      idv.Status    `json:"status"`
	DecidedBy   idv.DecidedBy `json:"decided_by"`
	VendorEvent string        `json:"vendor_event"`
	OccurredAt  time.Time     `json:"occurred_at"`
	RawSeq      uint64        `json:"raw_seq"`
}

// Outbox is the set of events one vendor event produced.
type Outbox struct {
	// Key is the hashed key of the vendor event that produced them.
	Key string `json:"key"`
	// Source is the source that webhook came from.
	Source string `json:"source"`
	// RawSeq is that webhook's IDV_RAW sequence.
	RawSeq uint64 `json:"raw_seq"`
	// Written is when the state holding this outbox was written.
	Written time.Time `json:"written"`
	Events  []Output  `json:"events"`
}

// Output is one CloudEvent to publish.
type Output struct {
	ID      string          `json:"id"`
	Type    idv.EventType   `json:"type"`
	Subject string          `json:"subject"` // the NATS subject
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// hashKey shortens a vendor event key for the Applied memory: 64 bits of
// SHA-256 in hex. Collisions are negligible at MaxApplied keys.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// clone returns a copy of s whose slices and maps can be changed freely.
func (s State) clone() State {
	s.Checks = maps.Clone(s.Checks)
	s.Applied = slices.Clone(s.Applied)
	s.History = slices.Clone(s.History)
	return s
}

func (s *State) remember(key string) {
	if len(s.Applied) >= MaxApplied {
		s.Applied = slices.Delete(s.Applied, 0, len(s.Applied)-MaxApplied+1)
	}
	s.Applied = append(s.Applied, key)
}

func (s *State) record(c Change) {
	if len(s.History) >= MaxHistory {
		s.History = slices.Delete(s.History, 0, len(s.History)-MaxHistory+1)
	}
	s.History = append(s.History, c)
}
