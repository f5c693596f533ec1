package webhookauth

import (
	"net/http"
	"time"
)

// ParseBearerAuthorization returns the token of an `Authorization: Bearer
// <token>` value (RFC 6750): the scheme in any case, surrounding spaces
// removed. On success FormatBearerAuthorization(token) parses back to the same
// token. Errors never quote the input.
func ParseBearerAuthorization(h string) (string, error) {
	return cutScheme(h, "Bearer")
}

// FormatBearerAuthorization returns the Authorization value for token.
func FormatBearerAuthorization(token string) string { return "Bearer " + token }

var bearerScheme = scheme{
	uses:  fieldSecrets,
	build: func(c Config) (Verifier, []error) { return &bearerVerifier{tokens: newDigestSet(c.Secrets)}, nil },
	sign: func(c Config, h http.Header, _ []byte, _ time.Time) error {
		h.Set(AuthorizationHeader, FormatBearerAuthorization(c.Secrets[0]))
		return nil
	},
}

// bearerVerifier checks a bearer token against several accepted tokens.
type bearerVerifier struct{ tokens digestSet }

// Verify accepts the request if its bearer token equals any configured one,
// compared in constant time (digests, so token lengths do not leak either).
func (v *bearerVerifier) Verify(r *Request) error { return v.CheckHeaders(r) }

// CheckHeaders is the whole check: a bearer token does not depend on the body.
func (v *bearerVerifier) CheckHeaders(r *Request) error {
	h := r.Header.Get(AuthorizationHeader)
	if h == "" {
		return missing(AuthorizationHeader)
	}
	tok, err := ParseBearerAuthorization(h)
	if err != nil {
		return malformed(AuthorizationHeader, err)
	}
	if !v.tokens.match(tok) {
		return ErrBadCredentials
	}
	return nil
}
