package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// rateForms names the accepted forms of subscribers[].rate, for error messages.
const rateForms = "use N/s, N/m (or N/min), N/h, a bare N per second, or 0 or empty for no limit"

// rateUnits maps the unit after "/" in a rate to its length in seconds.
var rateUnits = map[string]float64{"s": 1, "m": 60, "min": 60, "h": 3600}

// RateLimit returns the subscriber's rate cap in delivery attempts per second;
// 0 means no limit. Rate is "" or "0" (no limit), a bare positive number per
// second ("0.5" is one attempt every 2 s), or a positive number per unit:
// "20/s", "600/m" (or "/min"), "1000/h". The error names the accepted forms.
func (s Subscriber) RateLimit() (perSecond float64, err error) {
	r := strings.TrimSpace(s.Rate)
	if r == "" {
		return 0, nil
	}
	num, unit, hasUnit := strings.Cut(r, "/")
	seconds := 1.0
	if hasUnit {
		var ok bool
		if seconds, ok = rateUnits[strings.TrimSpace(unit)]; !ok {
			return 0, fmt.Errorf("%q is not a rate: unit %q is not s, m, min or h; %s", s.Rate, strings.TrimSpace(unit), rateForms)
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("%q is not a rate: %s", s.Rate, rateForms)
	}
	switch {
	case n < 0:
		return 0, fmt.Errorf("%q is negative: %s", s.Rate, rateForms)
	case n == 0 && hasUnit:
		// "0/s" reads as "deliver nothing", which is not what 0 means here.
		return 0, fmt.Errorf("%q would allow no delivery; %s", s.Rate, rateForms)
	}
	return n / seconds, nil
}

// StartAt interprets the subscriber's start: "new" (or empty, the default)
// gives deliverNew true, "all" gives false and the zero time (every event
// still in IDV_EVENTS), an RFC 3339 time gives false and that time (events
// stored from then on). Anything else is an error.
func (s Subscriber) StartAt() (deliverNew bool, at time.Time, err error) {
	switch s.Start {
	case "new", "":
		return true, time.Time{}, nil
	case "all":
		return false, time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s.Start)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("%q is not new, all or an RFC 3339 time such as 2025-01-31T00:00:00Z", s.Start)
	}
	return false, t, nil
}
