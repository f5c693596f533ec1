package webhookauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PersonaHeader is the header Persona signs its webhooks with.
const PersonaHeader = "Persona-Signature"

// maxSignatures bounds how many signatures one header may carry (Persona sets
// plus their v1 values; Standard Webhooks entries). A rotation needs two; the
// bound caps the HMAC work an attacker can make one request cost.
const maxSignatures = 16

// PersonaSignature is one `t=<unix seconds>,v1=<hex>` set of a
// Persona-Signature header.
type PersonaSignature struct {
	Timestamp int64    // t: Unix seconds the signature was made at
	V1        [][]byte // the v1 values: HMAC-SHA256 of "<t>.<raw body>", decoded
}

// ParsePersonaSignature parses a Persona-Signature header value: one or more
// whitespace-separated sets (several during a secret rotation), each a
// comma-separated list of key=value items with exactly one t (decimal Unix
// seconds, no sign or leading zero) and any number of v1 (hex, either case, of
// a 32-byte HMAC-SHA256). Other keys, v1 values that are not such hex (they
// could never match) and sets left without v1 are skipped, for forward
// compatibility; but the header must carry at least one usable v1 and at most
// 16 v1 in all, and a syntax error (item without '=', missing, repeated or
// non-numeric t) fails the whole header. On success
// FormatPersonaSignature of the result parses back to the same result. Errors
// never quote the input.
func ParsePersonaSignature(h string) ([]PersonaSignature, error) {
	sets := strings.Fields(h)
	if len(sets) == 0 {
		return nil, errEmpty
	}
	if len(sets) > maxSignatures {
		return nil, errTooMany
	}
	out := make([]PersonaSignature, 0, len(sets))
	total := 0
	var unusable error // why the last skipped v1 could not be used
	for _, set := range sets {
		var sig PersonaSignature
		haveT := false
		for item := range strings.SplitSeq(set, ",") {
			k, val, ok := strings.Cut(item, "=")
			if !ok || k == "" {
				return nil, errItemSyntax
			}
			switch k {
			case "t":
				if haveT {
					return nil, errDuplicateT
				}
				if sig.Timestamp, ok = parseUnix(val); !ok {
					return nil, errBadTimestamp
				}
				haveT = true
			case "v1":
				if total++; total > maxSignatures {
					return nil, errTooMany
				}
				b, err := hex.DecodeString(val)
				switch {
				case err != nil:
					unusable = errSigNotHex // can never match: skip, as Persona's own sample would
				case len(b) != sha256.Size:
					unusable = errSigWrongBytes
				default:
					sig.V1 = append(sig.V1, b)
				}
			}
		}
		if !haveT {
			return nil, errMissingT
		}
		if len(sig.V1) > 0 { // a set of only other versions is skipped
			out = append(out, sig)
		}
	}
	if len(out) == 0 {
		if unusable != nil {
			return nil, unusable
		}
		return nil, errMissingV1
	}
	return out, nil
}

// FormatPersonaSignature writes sigs as a Persona-Signature header value: sets
// separated by one space, `t=<t>,v1=<lowercase hex>[,v1=...]`.
func FormatPersonaSignature(sigs []PersonaSignature) string {
	var b strings.Builder
	for i, s := range sigs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("t=")
		b.WriteString(strconv.FormatInt(s.Timestamp, 10))
		for _, v := range s.V1 {
			b.WriteString(",v1=")
			b.WriteString(hex.EncodeToString(v))
		}
	}
	return b.String()
}

// SignPersona returns the Persona-Signature header value Persona would send
// for body signed with secret at t (truncated to the second). To simulate a
// rotation, join two results with a space.
func SignPersona(secret string, t time.Time, body []byte) string {
	ts := t.Unix()
	return FormatPersonaSignature([]PersonaSignature{{
		Timestamp: ts,
		V1:        [][]byte{personaMAC([]byte(secret), ts, body)},
	}})
}

// personaMAC is HMAC-SHA256(key, "<t>.<body>").
func personaMAC(key []byte, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(strconv.AppendInt(nil, t, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

var personaScheme = scheme{
	uses:  fieldSecrets | fieldTolerance,
	build: newPersona,
	sign: func(c Config, h http.Header, body []byte, now time.Time) error {
		h.Set(PersonaHeader, SignPersona(c.Secrets[0], now, body))
		return nil
	},
}

// personaVerifier checks Persona-Signature against every secret.
type personaVerifier struct {
	keys [][]byte
	tol  time.Duration
}

func newPersona(c Config) (Verifier, []error) {
	v := &personaVerifier{tol: toleranceOr(c.Tolerance)}
	for _, s := range c.Secrets {
		v.keys = append(v.keys, []byte(s))
	}
	return v, nil
}

// Verify accepts the request if any set whose t is within the tolerance of
// the receive time carries a v1 equal to the HMAC under any secret.
func (v *personaVerifier) Verify(r *Request) error {
	sigs, now, err := v.check(r)
	if err != nil {
		return err
	}
	for _, s := range sigs {
		if !withinTolerance(s.Timestamp, now, v.tol) {
			continue // checked before any HMAC work
		}
		for _, key := range v.keys {
			mac := personaMAC(key, s.Timestamp, r.Body)
			for _, got := range s.V1 {
				if hmac.Equal(mac, got) {
					return nil
				}
			}
		}
	}
	return ErrSignatureMismatch
}

// CheckHeaders refuses a missing or malformed Persona-Signature, and one
// whose every set has a timestamp out of tolerance.
func (v *personaVerifier) CheckHeaders(r *Request) error {
	_, _, err := v.check(r)
	return err
}

// check parses the header and requires at least one fresh set.
func (v *personaVerifier) check(r *Request) ([]PersonaSignature, time.Time, error) {
	h := r.Header.Get(PersonaHeader)
	if h == "" {
		return nil, time.Time{}, missing(PersonaHeader)
	}
	sigs, err := ParsePersonaSignature(h)
	if err != nil {
		return nil, time.Time{}, malformed(PersonaHeader, err)
	}
	now := receivedAt(r)
	for _, s := range sigs {
		if withinTolerance(s.Timestamp, now, v.tol) {
			return sigs, now, nil
		}
	}
	return nil, now, ErrTimestampOutOfTolerance
}
