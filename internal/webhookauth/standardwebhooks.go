package webhookauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks spec (v1). Svix-signed senders use the
// same scheme under the svix- names; the verifier falls back to those when
// none of the webhook- headers is present.
const (
	StandardWebhookID        = "webhook-id"
	StandardWebhookTimestamp = "webhook-timestamp"
	StandardWebhookSignature = "webhook-signature"
	SvixID                   = "svix-id"
	SvixTimestamp            = "svix-timestamp"
	SvixSignature            = "svix-signature"
)

// whsecPrefix marks a serialized Standard Webhooks symmetric secret.
const whsecPrefix = "whsec_"

// standardHeaders is one family of header names: webhook-* or svix-*.
type standardHeaders struct{ id, timestamp, signature string }

// present reports whether any header of the family is set.
func (n standardHeaders) present(h http.Header) bool {
	return h.Get(n.id) != "" || h.Get(n.timestamp) != "" || h.Get(n.signature) != ""
}

var (
	webhookNames = standardHeaders{StandardWebhookID, StandardWebhookTimestamp, StandardWebhookSignature}
	svixNames    = standardHeaders{SvixID, SvixTimestamp, SvixSignature}
)

// ParseStandardSignatures parses a webhook-signature header value exactly as
// the reference libraries read it: entries separated by single spaces, each
// `<version>,<signature>[,...]`. Only v1 entries whose signature is padded
// standard base64 of a 32-byte HMAC-SHA256, in its one canonical spelling,
// are returned: the reference libraries compare the signature as the text
// base64.StdEncoding writes, so they reject a correct signature in URL-safe
// or unpadded base64, and so does idvbus. Entries of other versions such as
// v1a (asymmetric), entries without a comma and v1 entries that could never
// match are skipped, as the reference libraries do. It fails when no usable
// v1 entry remains. On success FormatStandardSignatures of the result parses
// back to the same result. Errors never quote the input.
func ParseStandardSignatures(h string) ([][]byte, error) {
	if strings.TrimSpace(h) == "" {
		return nil, errEmpty
	}
	var (
		out      [][]byte
		unusable error // why the last skipped v1 entry could not be used
	)
	for _, e := range strings.Split(h, " ") {
		ver, sig, ok := strings.Cut(e, ",")
		if !ok || ver != "v1" {
			continue
		}
		sig, _, _ = strings.Cut(sig, ",") // the reference reads the second field only
		b, err := decodeStdBase64(sig)
		switch {
		case err != nil:
			unusable = errBadBase64 // can never match: skip, as the reference libraries do
		case len(b) != sha256.Size:
			unusable = errSigWrongBytes
		default:
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		if unusable != nil {
			return nil, unusable
		}
		return nil, errNoV1
	}
	return out, nil
}

// FormatStandardSignatures writes sigs as a webhook-signature value: `v1,`
// followed by padded standard base64, entries separated by one space.
func FormatStandardSignatures(sigs [][]byte) string {
	parts := make([]string, len(sigs))
	for i, s := range sigs {
		parts[i] = "v1," + base64.StdEncoding.EncodeToString(s)
	}
	return strings.Join(parts, " ")
}

// DecodeStandardSecret returns the HMAC key of a Standard Webhooks secret:
// `whsec_<base64>`, the prefix optional, padded standard base64, exactly what
// the reference libraries accept (Go's NewWebhook decodes it with
// base64.StdEncoding). It fails on an empty key or on anything else (URL-safe
// or unpadded base64 included), without quoting the secret.
func DecodeStandardSecret(secret string) ([]byte, error) {
	k, err := decodeStdBase64(strings.TrimPrefix(secret, whsecPrefix))
	if err != nil || len(k) == 0 {
		return nil, errBadSecret
	}
	return k, nil
}

// SignStandardWebhooks returns the webhook-id, webhook-timestamp and
// webhook-signature headers a Standard Webhooks sender would add for body
// with message id at t, signed with secret (`whsec_<base64>`). Copy them into
// the request's header. To simulate a rotation, sign twice and join the two
// signature values with a space. The error reports an undecodable secret.
func SignStandardWebhooks(secret, id string, t time.Time, body []byte) (http.Header, error) {
	key, err := DecodeStandardSecret(secret)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	h := http.Header{}
	h.Set(StandardWebhookID, id)
	h.Set(StandardWebhookTimestamp, ts)
	h.Set(StandardWebhookSignature, FormatStandardSignatures([][]byte{standardMAC(key, id, ts, body)}))
	return h, nil
}

// standardMAC is HMAC-SHA256(key, "<id>.<timestamp>.<body>").
func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

var standardWebhooksScheme = scheme{
	uses:  fieldSecrets | fieldTolerance,
	build: newStandardWebhooks,
	sign: func(c Config, h http.Header, body []byte, now time.Time) error {
		id := h.Get(StandardWebhookID)
		if id == "" {
			d := sha256.Sum256(append(strconv.AppendInt(nil, now.UnixNano(), 10), body...))
			id = "msg_" + hex.EncodeToString(d[:12])
		}
		sh, err := SignStandardWebhooks(c.Secrets[0], id, now, body)
		for k, v := range sh {
			h[k] = v
		}
		return err
	},
}

// standardVerifier checks Standard Webhooks (and Svix) signatures.
type standardVerifier struct {
	keys [][]byte
	tol  time.Duration
}

func newStandardWebhooks(c Config) (Verifier, []error) {
	v := &standardVerifier{tol: toleranceOr(c.Tolerance)}
	var errs []error
	for i, s := range c.Secrets {
		if s == "" {
			continue // already reported by the common checks
		}
		k, err := DecodeStandardSecret(s)
		if err != nil {
			errs = append(errs, configErr(secretField(i), "%v", err))
			continue
		}
		v.keys = append(v.keys, k)
	}
	return v, errs
}

// Verify accepts the request if its timestamp is within the tolerance and
// one of its v1 signatures equals the HMAC of id.timestamp.body under any
// secret.
func (v *standardVerifier) Verify(r *Request) error {
	id, ts, sigs, err := v.check(r)
	if err != nil {
		return err
	}
	for _, key := range v.keys {
		mac := standardMAC(key, id, ts, r.Body)
		for _, got := range sigs {
			if hmac.Equal(mac, got) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}

// CheckHeaders refuses missing or malformed webhook-* (or svix-*) headers
// and a timestamp out of tolerance.
func (v *standardVerifier) CheckHeaders(r *Request) error {
	_, _, _, err := v.check(r)
	return err
}

// check reads and parses the three headers and checks the timestamp.
func (v *standardVerifier) check(r *Request) (id, ts string, sigs [][]byte, err error) {
	names := webhookNames
	if !names.present(r.Header) && svixNames.present(r.Header) {
		names = svixNames
	}
	id, ts, sig := r.Header.Get(names.id), r.Header.Get(names.timestamp), r.Header.Get(names.signature)
	switch {
	case id == "":
		return "", "", nil, missing(names.id)
	case ts == "":
		return "", "", nil, missing(names.timestamp)
	case sig == "":
		return "", "", nil, missing(names.signature)
	}
	t, ok := parseUnix(ts)
	if !ok {
		return "", "", nil, malformed(names.timestamp, errBadTimestamp)
	}
	if sigs, err = ParseStandardSignatures(sig); err != nil {
		return "", "", nil, malformed(names.signature, err)
	}
	if !withinTolerance(t, receivedAt(r), v.tol) {
		return "", "", nil, ErrTimestampOutOfTolerance
	}
	return id, ts, sigs, nil
}

// strictStd is padded standard base64 that refuses non-canonical trailing
// bits: one spelling per value, as a text comparison of base64 would have it.
var strictStd = base64.StdEncoding.Strict()

// decodeStdBase64 decodes padded standard base64 only; embedded whitespace
// (which encoding/base64 would skip) is rejected.
func decodeStdBase64(s string) ([]byte, error) {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, errBadBase64
	}
	b, err := strictStd.DecodeString(s)
	if err != nil {
		return nil, errBadBase64
	}
	return b, nil
}
