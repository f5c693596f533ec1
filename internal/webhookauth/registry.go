package webhookauth

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// registry maps every auth.type to its scheme: one line per scheme.
var registry = map[string]scheme{
	TypePersona:          personaScheme,
	TypeHMAC:             hmacScheme,
	TypeStandardWebhooks: standardWebhooksScheme,
	TypeBasic:            basicScheme,
	TypeBearer:           bearerScheme,
	TypeHeader:           headerScheme,
	TypeNone:             noneScheme,
}

// scheme is one authentication type.
type scheme struct {
	// uses lists the optional Config fields the scheme reads; setting any
	// other one is a config error (it would silently do nothing).
	uses field
	// build makes the verifier. It runs after the common checks (secrets,
	// tolerance, unused fields) and returns its own problems as *ConfigError.
	build func(c Config) (Verifier, []error)
	// sign adds to h the headers that authenticate body under c at now, using
	// c.Secrets[0]. c has already passed New.
	sign func(c Config, h http.Header, body []byte, now time.Time) error
}

// field is a bit set of Config fields.
type field uint8

const (
	fieldSecrets field = 1 << iota
	fieldUsername
	fieldHeader
	fieldAlgorithm
	fieldEncoding
	fieldPrefix
	fieldTolerance
)

// Types returns the names accepted in auth.type, sorted.
func Types() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// New checks cfg and returns its verifier. allowUnauthenticated is the
// source's allow_unauthenticated setting; without it type none is refused.
//
// On failure New returns every problem it found, joined with errors.Join; each
// is a *[ConfigError] whose text is one self-contained line naming the field
// relative to the auth block, e.g. `secrets[1]: must not be empty`. No error
// contains a secret.
//
// When cfg.AllowIPs is not empty, the verifier refuses any request whose
// RemoteIP is invalid or outside every listed prefix with [ErrIPNotAllowed],
// before doing any signature work.
func New(cfg Config, allowUnauthenticated bool) (Verifier, error) {
	s, errs := resolve(cfg, allowUnauthenticated)
	var v Verifier
	if s.build != nil {
		var more []error
		v, more = s.build(cfg)
		errs = append(errs, more...)
	}
	allow, more := parseAllowIPs(cfg.AllowIPs)
	errs = append(errs, more...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(allow) > 0 {
		v = &ipAllowVerifier{allow: allow, next: v}
	}
	return v, nil
}

// Sign adds to h the headers that make a request with this body, received at
// now, pass the verifier New(cfg, true) returns, using the first secret. It is
// for tests, development tools and load generators; an existing webhook-id in
// h is kept (standard_webhooks), else one is derived from the body and time.
// Type none adds nothing. allow_ips is not something a header can satisfy.
func Sign(cfg Config, h http.Header, body []byte, now time.Time) error {
	if _, err := New(cfg, true); err != nil {
		return err
	}
	return registry[cfg.Type].sign(cfg, h, body, now)
}

// resolve looks up cfg.Type and runs the checks common to all schemes.
func resolve(cfg Config, allowUnauthenticated bool) (scheme, []error) {
	s, ok := registry[cfg.Type]
	if !ok {
		if cfg.Type == "" {
			return scheme{}, []error{configErr("type", "is required, one of %s", strings.Join(Types(), ", "))}
		}
		return scheme{}, []error{configErr("type", "%q is not one of %s", cfg.Type, strings.Join(Types(), ", "))}
	}
	var errs []error
	if cfg.Type == TypeNone && !allowUnauthenticated {
		errs = append(errs, configErr("type", "none requires the source's allow_unauthenticated: true"))
	}
	for _, f := range []struct {
		bit field
		key string
		set bool
	}{
		{fieldSecrets, "secrets", len(cfg.Secrets) > 0},
		{fieldUsername, "username", cfg.Username != ""},
		{fieldHeader, "header", cfg.Header != ""},
		{fieldAlgorithm, "algorithm", cfg.Algorithm != ""},
		{fieldEncoding, "encoding", cfg.Encoding != ""},
		{fieldPrefix, "prefix", cfg.Prefix != ""},
		{fieldTolerance, "tolerance", cfg.Tolerance != 0},
	} {
		if f.set && s.uses&f.bit == 0 {
			errs = append(errs, configErr(f.key, "is not used by type %s", cfg.Type))
		}
	}
	if s.uses&fieldSecrets != 0 {
		if len(cfg.Secrets) == 0 {
			errs = append(errs, configErr("secrets", "at least one secret is required"))
		}
		for i, sec := range cfg.Secrets {
			if sec == "" {
				errs = append(errs, configErr(secretField(i), "must not be empty"))
			}
		}
	}
	if s.uses&fieldTolerance != 0 && cfg.Tolerance < 0 {
		errs = append(errs, configErr("tolerance", "must not be negative"))
	}
	return s, errs
}

// secretField names secret i in config errors.
func secretField(i int) string { return "secrets[" + strconv.Itoa(i) + "]" }

// checkHeaderName validates the header setting of schemes that require one.
func checkHeaderName(c Config) []error {
	switch {
	case c.Header == "":
		return []error{configErr("header", "is required for type %s", c.Type)}
	case !validHeaderName(c.Header):
		return []error{configErr("header", "%q is not a valid header name", c.Header)}
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 field name (a token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
