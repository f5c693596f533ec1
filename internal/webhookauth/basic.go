package webhookauth

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// AuthorizationHeader is the header basic and bearer credentials travel in.
const AuthorizationHeader = "Authorization"

// cutScheme returns the credentials of an Authorization value, spaces
// trimmed, if its scheme is want (case-insensitively, as RFC 9110 says auth
// schemes are); errWrongScheme otherwise, errEmpty if there is nothing.
func cutScheme(h, want string) (rest string, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", errEmpty
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, want) {
		return "", errWrongScheme
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", errEmpty
	}
	return rest, nil
}

// ParseBasicAuthorization parses an `Authorization: Basic <base64(user:pass)>`
// value (RFC 7617): the scheme in any case, the credentials in base64 of
// either alphabet, padded or not, split at the first colon. On success
// FormatBasicAuthorization(user, pass) parses back to the same pair. Errors
// never quote the input.
func ParseBasicAuthorization(h string) (user, pass string, err error) {
	rest, err := cutScheme(h, "Basic")
	if err != nil {
		return "", "", err
	}
	b, err := decodeBase64(rest)
	if err != nil {
		return "", "", err
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", errNoColon
	}
	return user, pass, nil
}

// FormatBasicAuthorization returns the Authorization value for user and pass,
// as http.Request.SetBasicAuth writes it.
func FormatBasicAuthorization(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

var basicScheme = scheme{
	uses:  fieldSecrets | fieldUsername,
	build: newBasic,
	sign: func(c Config, h http.Header, _ []byte, _ time.Time) error {
		h.Set(AuthorizationHeader, FormatBasicAuthorization(c.Username, c.Secrets[0]))
		return nil
	},
}

// basicVerifier checks HTTP Basic credentials: one user, several passwords.
type basicVerifier struct {
	user, passwords digestSet
}

func newBasic(c Config) (Verifier, []error) {
	var errs []error
	switch {
	case c.Username == "":
		errs = append(errs, configErr("username", "is required for type basic"))
	case strings.Contains(c.Username, ":"):
		errs = append(errs, configErr("username", "must not contain a colon (RFC 7617)"))
	}
	return &basicVerifier{user: newDigestSet([]string{c.Username}), passwords: newDigestSet(c.Secrets)}, errs
}

// Verify accepts the request if its Basic credentials carry the configured
// user name and any configured password. Both are compared in constant time,
// and both always, so timing does not tell which one was wrong.
func (v *basicVerifier) Verify(r *Request) error { return v.CheckHeaders(r) }

// CheckHeaders is the whole check: basic credentials do not depend on the body.
func (v *basicVerifier) CheckHeaders(r *Request) error {
	h := r.Header.Get(AuthorizationHeader)
	if h == "" {
		return missing(AuthorizationHeader)
	}
	user, pass, err := ParseBasicAuthorization(h)
	if err != nil {
		return malformed(AuthorizationHeader, err)
	}
	userOK := v.user.match(user)
	passOK := v.passwords.match(pass)
	if !userOK || !passOK {
		return ErrBadCredentials
	}
	return nil
}
