package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// connStates holds, per connection made by [Connect], what its last failed
// connection attempt said, so that an operation failing while disconnected can
// say why (see [Bus.explain]) instead of nats.go's "outbound buffer limit
// exceeded". An entry is dropped when its connection closes.
var connStates sync.Map // *nats.Conn → *connState

// connState is one connection's attempts to reach its servers.
type connState struct {
	url string // the configured server URL(s), without credentials

	mu       sync.Mutex
	dialErr  error     // the last failed dial (see dialer)
	last     error     // the last failed attempt; nil once connected
	failures int       // failed attempts since the last success
	logged   time.Time // when a failed attempt was last logged
}

// failLogEvery spaces the log lines of a connection that keeps failing: the
// first failure is logged at once, then one line per this interval (an attempt
// is made every second or so, forever).
const failLogEvery = 30 * time.Second

// dialer dials for nats.go and remembers why a dial failed: nats.go reports a
// refused first connection as "no servers available for connection" only.
type dialer struct {
	d     net.Dialer
	state *connState
}

func (d *dialer) Dial(network, address string) (net.Conn, error) {
	c, err := d.d.Dial(network, address)
	d.state.mu.Lock()
	d.state.dialErr = err
	d.state.mu.Unlock()
	return c, err
}

// reason is err, or the failed dial behind it when err is nats.go's
// ErrNoServers. s.mu must be held.
func (s *connState) reason(err error) error {
	if errors.Is(err, nats.ErrNoServers) && s.dialErr != nil {
		return s.dialErr
	}
	return err
}

// failed records a failed attempt and logs it if it is the first one or
// failLogEvery passed since the last line.
func (s *connState) failed(err error, log *zap.Logger) {
	s.mu.Lock()
	err = s.reason(err)
	s.last = err
	s.failures++
	n := s.failures
	logNow := n == 1 || time.Since(s.logged) >= failLogEvery
	if logNow {
		s.logged = time.Now()
	}
	s.mu.Unlock()
	if logNow {
		log.Warn("cannot connect to NATS; retrying every second (is NATS, or idvbus, running there? nats.url / IDVBUS_NATS_URL sets where)",
			zap.String("url", s.url), zap.String("cause", Cause(err)), zap.Int("attempts", n), zap.Error(err))
	}
}

// connected forgets the failures.
func (s *connState) connected() {
	s.mu.Lock()
	s.last, s.failures = nil, 0
	s.mu.Unlock()
}

// lastErr is the last failed attempt, nil if none since the last success.
func (s *connState) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// NotConnectedError is what an operation returns while the connection to NATS
// is down: it names the server URL(s), without credentials, and the cause of
// the last failed attempt. It matches [ErrNotConnected] and the operation's
// own error with errors.Is.
type NotConnectedError struct {
	URL   string // the configured server URL(s), redacted
	Cause string // of the last failed attempt, e.g. "connection refused"; "" if unknown
	Err   error  // the operation's own error (may be nil)
}

func (e *NotConnectedError) Error() string {
	msg := "not connected to NATS at " + e.URL
	if e.Cause != "" {
		msg += " (" + e.Cause + ")"
	}
	return msg
}

func (e *NotConnectedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotConnected}
	}
	return []error{ErrNotConnected, e.Err}
}

// notConnected describes a disconnected nc, with err the operation's error.
func notConnected(nc *nats.Conn, err error) error {
	e := &NotConnectedError{Err: err}
	if v, ok := connStates.Load(nc); ok {
		s := v.(*connState)
		e.URL = s.url
		if last := s.lastErr(); last != nil {
			e.Cause = Cause(last)
		}
	} else {
		e.URL = RedactURL(strings.Join(nc.Servers(), ","))
	}
	return e
}

// explain replaces an operation's error by a [NotConnectedError] when the
// connection is down (nats.go then reports "outbound buffer limit exceeded",
// a timeout or "no responders", none of which says what is wrong).
func (b *Bus) explain(err error) error {
	if err == nil || b.nc.IsConnected() {
		return err
	}
	var nce *NotConnectedError
	if errors.As(err, &nce) {
		return err
	}
	return notConnected(b.nc, err)
}

// Cause says in a few words why a connection attempt failed: "connection
// refused", "timed out", "authorization failed", "TLS: …", "no such host", or
// else the error's own text.
func Cause(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "no such host " + dnsErr.Name
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		strings.Contains(strings.ToLower(err.Error()), "authorization violation"),
		strings.Contains(strings.ToLower(err.Error()), "authentication"):
		return "authorization failed: check nats.user/password, token, nkey_seed_file or creds_file"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recErr),
		errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted),
		strings.Contains(err.Error(), "tls:"):
		return "TLS: " + err.Error()
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, syscall.ETIMEDOUT), isTimeout(err):
		return "timed out"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// RedactURL drops the user info of each NATS URL in a comma-separated list,
// for messages and logs: nats://user:secret@host:4222 becomes
// nats://***@host:4222.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				parts[i] = u[:s+3] + "***" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
