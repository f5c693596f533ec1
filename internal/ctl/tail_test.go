package ctl

import (
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/events"
	"github.com/idvbus/idvbus/sdk/idv"
)

func TestTailOptions(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		f        tailFlags
		subjects string
		since    time.Time
		bad      string
	}{
		{"everything by default", tailFlags{}, "idv.events.*.check.* idv.events.*.verification.*", time.Time{}, ""},
		{"vendor and status", tailFlags{vendors: stringList{"persona"}, statuses: stringList{"approved", "declined"}},
			"idv.events.persona.verification.approved idv.events.persona.verification.declined", time.Time{}, ""},
		{"short type", tailFlags{types: stringList{"check"}}, "idv.events.*.check.*", time.Time{}, ""},
		{"since a duration", tailFlags{since: "10m"}, "idv.events.*.check.* idv.events.*.verification.*", now.Add(-10 * time.Minute), ""},
		{"since a time", tailFlags{since: "2026-01-01T00:00:00Z"}, "idv.events.*.check.* idv.events.*.verification.*", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"bad since", tailFlags{since: "yesterday"}, "", time.Time{}, "neither a duration"},
		{"negative since", tailFlags{since: "-5m"}, "", time.Time{}, "must be positive"},
		{"two starts", tailFlags{all: true, last: 3}, "", time.Time{}, "choose one"},
		{"unknown status", tailFlags{statuses: stringList{"great"}}, "", time.Time{}, `"great" is not a status`},
		{"status with check type", tailFlags{types: stringList{"check"}, statuses: stringList{"approved"}}, "", time.Time{}, "has no effect"},
	}
	for _, c := range cases {
		o, _, msg := c.f.options(now)
		if c.bad != "" {
			if !strings.Contains(msg, c.bad) {
				t.Errorf("%s: problem %q, want %q", c.name, msg, c.bad)
			}
			continue
		}
		if msg != "" {
			t.Errorf("%s: %s", c.name, msg)
			continue
		}
		if got := strings.Join(o.FilterSubjects, " "); got != c.subjects {
			t.Errorf("%s: subjects %q, want %q", c.name, got, c.subjects)
		}
		if !o.Start.Since.Equal(c.since) {
			t.Errorf("%s: since %v, want %v", c.name, o.Start.Since, c.since)
		}
	}
}

func TestStringListSplitsAndRepeats(t *testing.T) {
	var l stringList
	_ = l.Set("a, b")
	_ = l.Set("c")
	_ = l.Set(",")
	if l.String() != "a,b,c" {
		t.Fatalf("%q", l.String())
	}
}

// TestTailReadsEncodedSubject: an event whose verification id needs
// percent-encoding in ce-subject is shown, and chosen by --verification,
// with the id as the vendor sent it.
func TestTailReadsEncodedSubject(t *testing.T) {
	const verification = `inq 7 "50%" Zoë`
	at := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	e, err := events.NewVerificationUpdated(events.Meta{ID: "evt-7", Source: "persona", Vendor: "persona", Subject: verification, Time: at},
		idv.VerificationUpdated{VerificationID: verification, Vendor: "persona", Source: "persona", Status: idv.StatusApproved,
			Terminal: true, DecidedBy: idv.DecidedByVendor, Revision: 2, VendorEvent: "inquiry.approved", OccurredAt: at, ReceivedAt: at,
			Raw: idv.RawRef{Stream: "IDV_RAW", Seq: 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.ToNATS(e)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("ce-subject") == verification {
		t.Fatal("ce-subject was written raw")
	}
	ev, err := idv.FromNATS(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if line := eventLine(ev); !strings.Contains(line, verification+" approved rev 2") {
		t.Errorf("line %q does not show the verification id as sent", line)
	}
	if f := (tailFlags{verifications: stringList{verification}}); !f.keeps(ev) {
		t.Error("--verification with the id as sent does not choose the event")
	}
}
