package webhookauth

import (
	"net/http"
	"time"
)

var headerScheme = scheme{
	uses: fieldSecrets | fieldHeader,
	build: func(c Config) (Verifier, []error) {
		return &headerVerifier{header: c.Header, values: newDigestSet(c.Secrets)}, checkHeaderName(c)
	},
	sign: func(c Config, h http.Header, _ []byte, _ time.Time) error {
		h.Set(c.Header, c.Secrets[0])
		return nil
	},
}

// headerVerifier checks a static shared-secret header (Incode's
// X-Webhook-Token, Credas's webhookAuth, IDWise's custom header).
type headerVerifier struct {
	header string
	values digestSet
}

// Verify accepts the request if the header's value equals any configured
// secret exactly, compared in constant time (digests, so lengths do not leak).
func (v *headerVerifier) Verify(r *Request) error { return v.CheckHeaders(r) }

// CheckHeaders is the whole check: a static header does not depend on the body.
func (v *headerVerifier) CheckHeaders(r *Request) error {
	val := r.Header.Get(v.header)
	if val == "" {
		return missing(v.header)
	}
	if !v.values.match(val) {
		return ErrBadCredentials
	}
	return nil
}
