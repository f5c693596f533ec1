package webhookauth

import "time"

// parseUnix parses a decimal Unix timestamp in seconds: ASCII digits only (no
// sign, no spaces, no leading zero), at most 18 of them so that the value
// always fits an int64. Being this strict makes the parsed number format back
// to exactly the string the sender signed.
func parseUnix(s string) (int64, bool) {
	// 18 digits reach year ~3e10; anything longer is garbage, not a clock.
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// withinTolerance reports whether |now - t| <= tol, t in Unix seconds. Exactly
// at the tolerance is still accepted; one nanosecond beyond is not. Both a
// stale and a future timestamp are refused: a future one is as suspicious as
// an old one (a captured request replayed later, or a sender's broken clock).
func withinTolerance(t int64, now time.Time, tol time.Duration) bool {
	d := now.Sub(time.Unix(t, 0)) // saturates instead of overflowing
	return d >= -tol && d <= tol
}

// receivedAt returns r.Now, or the current time when the caller left it zero,
// so that a forgotten Now cannot make every timestamp look 2000 years old.
func receivedAt(r *Request) time.Time {
	if r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// toleranceOr returns tol, or DefaultTolerance when tol is zero (unset).
func toleranceOr(tol time.Duration) time.Duration {
	if tol == 0 {
		return DefaultTolerance
	}
	return tol
}
