// Package webhookauth authenticates incoming vendor webhooks.
//
// Each source in the configuration names one authentication policy ([Config]);
// [New] turns it into a [Verifier]. A verifier never logs, never returns a secret
// or a header value in its errors, and compares every secret in constant time.
// Several secrets may be configured at once so that a vendor's secret can be
// rotated without downtime: a request is accepted if any of them matches.
//
// Every error a verifier returns wraps [ErrUnauthenticated] (answer 401) and
// exactly one reason sentinel ([ErrMissingHeader], [ErrMalformedHeader],
// [ErrSignatureMismatch], [ErrTimestampOutOfTolerance], [ErrIPNotAllowed],
// [ErrBadCredentials]); [Reason] turns it into a metrics label. The order of
// checks is fixed: client address (allow_ips), then header presence and
// syntax, then timestamp, then signature or credential, so a request costs no
// HMAC work unless it comes from an allowed address with a fresh timestamp.
// Everything before the signature is available without the body through
// [Verifier.CheckHeaders], so ingest refuses such requests unread.
//
// The exported parsers (ParsePersonaSignature, ParseStandardSignatures,
// DecodeHMACSignature, ParseBasicAuthorization, ParseBearerAuthorization) are
// pure, total functions with a Format/Encode inverse, fuzzed in this package.
// The Sign helpers ([Sign], [SignPersona], [SignStandardWebhooks], [SignHMAC])
// produce what a vendor would send, for tests and load generators.
//
// Adding a scheme = one file with a constructor + one line in the registry in
// registry.go.
package webhookauth

import (
	"errors"
	"net/http"
	"net/netip"
	"time"
)

// Type names of the supported schemes, as written in the config's auth.type.
const (
	TypePersona          = "persona"
	TypeHMAC             = "hmac"
	TypeStandardWebhooks = "standard_webhooks"
	TypeBasic            = "basic"
	TypeBearer           = "bearer"
	TypeHeader           = "header"
	TypeNone             = "none"
)

// DefaultTolerance is the accepted clock difference for timestamped schemes
// (persona, standard_webhooks) when the config sets none. Five minutes is what
// the Standard Webhooks libraries and Stripe-style verifiers use: long enough
// for vendor queueing and clock skew, short enough to make a captured request
// useless for replay soon after.
const DefaultTolerance = 5 * time.Minute

// Config is one source's authentication policy (the `auth` block of a source).
// Setting a field the chosen type does not use is a config error, as it would
// otherwise silently do nothing.
type Config struct {
	// Type selects the scheme: persona, hmac, standard_webhooks, basic, bearer, header or none.
	Type string `yaml:"type"`
	// Secrets are the accepted secrets; several during a rotation.
	// persona/hmac: the HMAC keys; standard_webhooks: `whsec_<base64>` secrets;
	// basic: the passwords; bearer: the tokens; header: the accepted header values.
	Secrets []string `yaml:"secrets"`
	// Username is the expected user name (basic).
	Username string `yaml:"username,omitempty"`
	// Header is the header that carries the signature (hmac) or the static value (header).
	Header string `yaml:"header,omitempty"`
	// Algorithm is the HMAC hash (hmac): sha256 (default), sha512 or sha1, in any case.
	Algorithm string `yaml:"algorithm,omitempty"`
	// Encoding is how the HMAC is written (hmac): hex (default) or base64, in any case.
	Encoding string `yaml:"encoding,omitempty"`
	// Prefix must lead the header value and is stripped before decoding (hmac),
	// e.g. "sha256="; matched case-insensitively.
	Prefix string `yaml:"prefix,omitempty"`
	// Tolerance bounds |now - signed timestamp| (persona, standard_webhooks); 0 = [DefaultTolerance] (5m).
	Tolerance time.Duration `yaml:"tolerance,omitempty"`
	// AllowIPs, when not empty, restricts the source to these client addresses
	// (CIDRs or single IPs, IPv4 or IPv6; any type, including none).
	AllowIPs []string `yaml:"allow_ips,omitempty"`
}

// Request is what a verifier sees of one webhook request.
type Request struct {
	Header   http.Header
	Body     []byte     // the raw body, exactly as received
	RemoteIP netip.Addr // the client address (after trusted-proxy resolution by the caller)
	Now      time.Time  // the time the request was received; zero means time.Now()
}

// Verifier decides whether one request is authentic.
type Verifier interface {
	// Verify returns nil if the request is authentic, else an error wrapping
	// [ErrUnauthenticated]. The error text is safe to log: it never contains a
	// secret, a signature or any header value.
	Verify(r *Request) error
	// CheckHeaders returns the error Verify would return for what the client
	// address and the headers alone decide (allow_ips; a missing or malformed
	// header; a stale or future timestamp; for basic, bearer and header auth
	// the credential itself), without looking at r.Body; nil when only the
	// body can decide. Whenever it returns an error, Verify returns one too,
	// so a caller can refuse a request before reading its body.
	CheckHeaders(r *Request) error
}

// ErrUnauthenticated is wrapped by every error a [Verifier] returns.
var ErrUnauthenticated = errors.New("unauthenticated")
