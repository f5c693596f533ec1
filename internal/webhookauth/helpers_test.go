package webhookauth_test

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// now is the receive time of every test request; body is the signed payload.
var (
	now  = time.Unix(1_700_000_000, 0)
	body = []byte(`{"data":{"id":"evt_123","attributes":{"status":"approved"}}}`)
)

// verifyCase is one request against a verifier and the reason it must fail
// with (nil = accepted).
type verifyCase struct {
	name   string
	header http.Header
	body   []byte        // nil = body
	skew   time.Duration // receive time = now + skew
	ip     string        // RemoteIP; "" = 192.0.2.1
	want   error         // nil, or the sentinel errors.Is must find
	inErr  string        // text the error must contain (a header name), if set
}

// mustNew builds a verifier or fails the test.
func mustNew(t testing.TB, cfg webhookauth.Config) webhookauth.Verifier {
	t.Helper()
	v, err := webhookauth.New(cfg, cfg.Type == webhookauth.TypeNone)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return v
}

// hdr builds a header from name, value pairs (names canonicalized by Set).
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// runVerify checks every case against v. secrets are values that must never
// appear in an error text, next to every header value of the case.
func runVerify(t *testing.T, v webhookauth.Verifier, cases []verifyCase, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.body
			if b == nil {
				b = body
			}
			ip := netip.MustParseAddr("192.0.2.1")
			if tc.ip != "" {
				ip = netip.MustParseAddr(tc.ip)
			}
			err := v.Verify(&webhookauth.Request{Header: tc.header, Body: b, RemoteIP: ip, Now: now.Add(tc.skew)})
			checkErr(t, err, tc.want, tc.inErr, append(headerValues(tc.header), secrets...)...)
			checkPrecheck(t, v.CheckHeaders(&webhookauth.Request{Header: tc.header, RemoteIP: ip, Now: now.Add(tc.skew)}), err)
		})
	}
}

// checkErr asserts err is nil when want is nil, else that it wraps both want
// and ErrUnauthenticated, contains inErr, and quotes none of the secret values.
func checkErr(t *testing.T, err, want error, inErr string, secrets ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Verify = %v, want accepted", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify accepted, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want errors.Is %v", err, want)
	}
	if !errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Fatalf("Verify = %v, does not wrap ErrUnauthenticated", err)
	}
	if !strings.Contains(err.Error(), inErr) {
		t.Fatalf("Verify = %q, want it to name %q", err, inErr)
	}
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks the value %q", err, s)
		}
	}
}

// checkPrecheck asserts the CheckHeaders contract against Verify's answer
// verr for the same request: everything but a signature mismatch is decided
// from the headers alone (without a body), with the same reason as Verify.
func checkPrecheck(t *testing.T, pre, verr error) {
	t.Helper()
	switch {
	case verr == nil || errors.Is(verr, webhookauth.ErrSignatureMismatch):
		if pre != nil {
			t.Fatalf("CheckHeaders = %v, but only the body can decide (Verify = %v)", pre, verr)
		}
	case pre == nil:
		t.Fatalf("CheckHeaders passed a request the headers alone refuse (Verify = %v)", verr)
	case webhookauth.Reason(pre) != webhookauth.Reason(verr):
		t.Fatalf("CheckHeaders reason %s, Verify reason %s", webhookauth.Reason(pre), webhookauth.Reason(verr))
	}
}

// headerValues returns every header value and its space/comma/=-separated
// parts, the things an error must not quote.
func headerValues(h http.Header) []string {
	var out []string
	for _, vs := range h {
		for _, v := range vs {
			out = append(out, v)
			out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '=' })...)
		}
	}
	return out
}

// leaks reports whether an error text quotes a fuzzed input long enough not to
// be a coincidental substring of a fixed message.
func leaks(err error, in string) bool {
	return err != nil && len(in) >= 16 && strings.Contains(err.Error(), in)
}

// hexBytes decodes a hex literal of a test.
func hexBytes(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// hexString is hex.EncodeToString, short for tables.
func hexString(b []byte) string { return hex.EncodeToString(b) }
