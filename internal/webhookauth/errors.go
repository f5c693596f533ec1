package webhookauth

import (
	"errors"
	"fmt"
)

// authError is a verification failure with a stable reason. It wraps
// [ErrUnauthenticated] so that callers only need one errors.Is check to answer
// 401, and carries a snake_case code for metrics labels (see [Reason]).
type authError struct {
	code string // stable snake_case label, e.g. "signature_mismatch"
	msg  string // short human text, never containing a request or secret value
}

func (e *authError) Error() string { return "unauthenticated: " + e.msg }
func (e *authError) Unwrap() error { return ErrUnauthenticated }

// The reasons a [Verifier] gives. Every one of them satisfies
// errors.Is(err, ErrUnauthenticated); errors returned by Verify wrap exactly one
// of them, with at most a header NAME and a fixed description added, never a
// header value, signature, token or secret.
var (
	// ErrMissingHeader: a header the scheme needs is absent or empty. The
	// wrapping error names the header.
	ErrMissingHeader error = &authError{"missing_header", "missing header"}
	// ErrMalformedHeader: the header is present but cannot be parsed (bad
	// syntax, bad hex or base64, wrong prefix, wrong length, wrong auth scheme).
	// The wrapping error names the header and the kind of problem.
	ErrMalformedHeader error = &authError{"malformed_header", "malformed header"}
	// ErrSignatureMismatch: the header parses, its timestamp (if any) is
	// recent, but no signature matches any configured secret: wrong secret or
	// tampered body.
	ErrSignatureMismatch error = &authError{"signature_mismatch", "signature mismatch"}
	// ErrTimestampOutOfTolerance: the signed timestamp is further than the
	// tolerance from the receive time, in the past (stale or replayed) or in
	// the future. Checked before any signature work.
	ErrTimestampOutOfTolerance error = &authError{"timestamp_out_of_tolerance", "timestamp out of tolerance"}
	// ErrIPNotAllowed: the source has allow_ips and the client address is
	// invalid or outside all of them. Checked before anything else.
	ErrIPNotAllowed error = &authError{"ip_not_allowed", "client address not allowed"}
	// ErrBadCredentials: a static credential (basic user/password, bearer
	// token, header value) matches none of the configured ones.
	ErrBadCredentials error = &authError{"bad_credentials", "bad credentials"}
)

// Reason returns a short, stable snake_case label for a Verify error, suitable
// as a metrics label or log field: one of "missing_header", "malformed_header",
// "signature_mismatch", "timestamp_out_of_tolerance", "ip_not_allowed",
// "bad_credentials"; "unauthenticated" for any other error wrapping
// [ErrUnauthenticated]; "" for nil; "error" for anything else.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	if ae, ok := errors.AsType[*authError](err); ok {
		return ae.code
	}
	if errors.Is(err, ErrUnauthenticated) {
		return "unauthenticated"
	}
	return "error"
}

// missing reports that header name is absent or empty.
func missing(name string) error {
	return fmt.Errorf("%w: %s", ErrMissingHeader, name)
}

// malformed reports that header name cannot be parsed; detail must be one of
// the package's fixed parser errors, never built from the header value.
func malformed(name string, detail error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformedHeader, name, detail)
}

// ConfigError is one problem [New] found in a [Config]. New returns every
// problem it finds, joined with errors.Join; each one's text is a complete,
// self-contained line such as `secrets[1]: must not be empty`. Field is the
// offending key relative to the auth block (e.g. "secrets[1]", "allow_ips[0]"),
// so a caller can prefix it with the source's path. Messages may quote a type,
// algorithm, encoding, header name or allow_ips entry, never a secret.
type ConfigError struct {
	Field   string // e.g. "algorithm", "secrets[1]"
	Problem string // e.g. `"md5" is not one of sha256, sha512, sha1`
}

// Error returns "<field>: <problem>", one line.
func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

// configErr builds a *ConfigError with a formatted problem.
func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Errors of the exported parsers. They are fixed texts that describe the
// problem without quoting any part of the input, so Verify can pass them on.
var (
	errEmpty         = errors.New("empty")
	errTooMany       = errors.New("too many signatures")
	errItemSyntax    = errors.New("item is not key=value")
	errDuplicateT    = errors.New("duplicate t")
	errBadTimestamp  = errors.New("timestamp is not Unix seconds")
	errMissingT      = errors.New("missing t")
	errMissingV1     = errors.New("missing v1")
	errSigNotHex     = errors.New("signature is not hex")
	errSigWrongBytes = errors.New("signature has the wrong length")
	errBadBase64     = errors.New("not base64")
	errWrongPrefix   = errors.New("missing the configured prefix")
	errEncoding      = errors.New("unknown encoding")
	errAlgorithm     = errors.New("unknown algorithm")
	errNoV1          = errors.New("no v1 signature")
	errWrongScheme   = errors.New("wrong authorization scheme")
	errNoColon       = errors.New("credentials lack a colon")
	errBadSecret     = errors.New("not a whsec_<base64> secret")
)
