package webhookauth_test

import (
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

var (
	swNew = "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-standard-webhooks-key-32byte"))
	swOld = base64.StdEncoding.EncodeToString([]byte("old-standard-webhooks-key-32byte")) // prefix is optional
)

// swSign returns the three Standard Webhooks headers, or fails the test.
func swSign(t testing.TB, secret, id string, at time.Time, b []byte) http.Header {
	t.Helper()
	h, err := webhookauth.SignStandardWebhooks(secret, id, at, b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// with returns a copy of h with name set to value ("" deletes it).
func with(h http.Header, name, value string) http.Header {
	c := h.Clone()
	if value == "" {
		c.Del(name)
	} else {
		c.Set(name, value)
	}
	return c
}

// toSvix renames the webhook-* headers to svix-*.
func toSvix(h http.Header) http.Header {
	return hdr("svix-id", h.Get("webhook-id"), "svix-timestamp", h.Get("webhook-timestamp"), "svix-signature", h.Get("webhook-signature"))
}

func TestStandardWebhooksVerify(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeStandardWebhooks, Secrets: []string{swNew, swOld}})
	good := swSign(t, swNew, "msg_1", now, body)
	old := swSign(t, swOld, "msg_1", now, body)
	wrong := swSign(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("someone else")), "msg_1", now, body)
	sig := good.Get("webhook-signature")
	tol := webhookauth.DefaultTolerance
	const sigH = "webhook-signature"
	cases := []verifyCase{
		{name: "valid", header: good},
		{name: "valid old secret without whsec_ prefix", header: old},
		{name: "rotation: both signatures", header: with(good, sigH, wrong.Get(sigH)+" "+old.Get(sigH))},
		{name: "v1a entry ignored", header: with(good, sigH, "v1a,c29tZSBlZDI1NTE5IHNpZ25hdHVyZQ== "+sig)},
		{name: "unusable v1 entry skipped", header: with(good, sigH, "v1,bm9wZQ== "+sig)},
		{name: "svix headers", header: toSvix(good)},
		{name: "past edge of tolerance", header: good, skew: tol},
		{name: "future edge of tolerance", header: good, skew: -tol},
		{name: "stale", header: good, skew: tol + time.Second, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "future", header: good, skew: -tol - time.Second, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "wrong secret", header: wrong, want: webhookauth.ErrSignatureMismatch},
		{name: "tampered body", header: good, body: []byte(`{"x":1}`), want: webhookauth.ErrSignatureMismatch},
		{name: "tampered id", header: with(good, "webhook-id", "msg_2"), want: webhookauth.ErrSignatureMismatch},
		{name: "tampered timestamp", header: with(good, "webhook-timestamp", "1700000001"), want: webhookauth.ErrSignatureMismatch},
		{name: "svix with wrong secret", header: toSvix(wrong), want: webhookauth.ErrSignatureMismatch},
		{name: "missing id", header: with(good, "webhook-id", ""), want: webhookauth.ErrMissingHeader, inErr: "webhook-id"},
		{name: "missing timestamp", header: with(good, "webhook-timestamp", ""), want: webhookauth.ErrMissingHeader, inErr: "webhook-timestamp"},
		{name: "missing signature", header: with(good, sigH, ""), want: webhookauth.ErrMissingHeader, inErr: "webhook-signature"},
		{name: "no headers at all", header: http.Header{}, want: webhookauth.ErrMissingHeader, inErr: "webhook-id"},
		{name: "partial webhook set does not fall back to svix", header: with(with(good, sigH, ""), "svix-signature", sig), want: webhookauth.ErrMissingHeader, inErr: "webhook-signature"},
		{name: "partial svix set", header: with(toSvix(good), "svix-id", ""), want: webhookauth.ErrMissingHeader, inErr: "svix-id"},
		{name: "non-numeric timestamp", header: with(good, "webhook-timestamp", "yesterday"), want: webhookauth.ErrMalformedHeader, inErr: "webhook-timestamp"},
		{name: "timestamp in milliseconds", header: with(good, "webhook-timestamp", "1700000000000"), want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "garbage signature", header: with(good, sigH, "garbage"), want: webhookauth.ErrMalformedHeader, inErr: "webhook-signature"},
		{name: "bad base64", header: with(good, sigH, "v1,!!!!"), want: webhookauth.ErrMalformedHeader},
		{name: "short signature", header: with(good, sigH, "v1,bm9wZQ=="), want: webhookauth.ErrMalformedHeader},
		{name: "only v1a", header: with(good, sigH, "v1a,"+strings.TrimPrefix(sig, "v1,")), want: webhookauth.ErrMalformedHeader},
		{name: "signature without version", header: with(good, sigH, strings.TrimPrefix(sig, "v1,")), want: webhookauth.ErrMalformedHeader},
		// The reference libraries compare the base64 text: the same bytes in
		// another spelling are refused.
		{name: "correct signature, unpadded", header: with(good, sigH, strings.TrimRight(sig, "=")), want: webhookauth.ErrMalformedHeader},
		{name: "correct signature, URL-safe", header: with(good, sigH, "v1,"+urlSafe(t, strings.TrimPrefix(sig, "v1,"))), want: webhookauth.ErrMalformedHeader},
		{name: "correct signature, non-canonical last character", header: with(good, sigH, nonCanonical(sig)), want: webhookauth.ErrMalformedHeader},
		// As the reference libraries: entries they skip are skipped, however many.
		{name: "many entries, one right", header: with(good, sigH, strings.Repeat("v1a,x ", 16)+sig)},
		{name: "entry without a comma skipped", header: with(good, sigH, "garbage "+sig)},
		{name: "tab is not a separator", header: with(good, sigH, "v1a,x\t"+sig), want: webhookauth.ErrMalformedHeader},
	}
	runVerify(t, v, cases, swNew, swOld, strings.TrimPrefix(sig, "v1,"))
}

// TestStandardWebhooksSpecVector checks interoperability with the reference
// libraries, using the test vector they all publish.
func TestStandardWebhooksSpecVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	payload := []byte(`{"test": 2432232314}`)
	at := time.Unix(1614265330, 0)
	h := swSign(t, secret, id, at, payload)
	if got := h.Get("webhook-signature"); got != want {
		t.Fatalf("signature = %q, want %q", got, want)
	}
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeStandardWebhooks, Secrets: []string{secret}})
	for _, h := range []http.Header{
		hdr("webhook-id", id, "webhook-timestamp", "1614265330", "webhook-signature", want),
		hdr("svix-id", id, "svix-timestamp", "1614265330", "svix-signature", want),
	} {
		if err := v.Verify(&webhookauth.Request{Header: h, Body: payload, Now: at.Add(time.Minute)}); err != nil {
			t.Errorf("Verify(%v) = %v", h, err)
		}
	}
}

func TestSignStandardWebhooksRejectsBadSecret(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_!!!", "not base64 at all"} {
		if _, err := webhookauth.SignStandardWebhooks(s, "msg_1", now, body); err == nil {
			t.Errorf("SignStandardWebhooks(%q): want error", s)
		}
	}
}

func TestParseStandardSignatures(t *testing.T) {
	a := make([]byte, 32)
	b := []byte(strings.Repeat("b", 32))
	enc := base64.StdEncoding.EncodeToString
	tests := []struct {
		in   string
		want [][]byte // nil = error
	}{
		{"v1," + enc(a), [][]byte{a}},
		{"v1," + enc(a) + "  v1," + enc(b), [][]byte{a, b}},
		// Only the one spelling the reference libraries compare against.
		{"v1," + base64.RawURLEncoding.EncodeToString(b), nil},
		{"v1," + base64.RawStdEncoding.EncodeToString(b), nil},
		{"v1," + enc(a) + " v1," + base64.RawStdEncoding.EncodeToString(b), [][]byte{a}},
		{"v1a,xyz v1," + enc(b) + " v2,whatever", [][]byte{b}},
		{"v1,bm9wZQ== v1," + enc(a), [][]byte{a}},
		{"", nil}, {" ", nil}, {"v1", nil}, {",abc", nil}, {"v1a,xyz", nil}, {"v1,", nil},
		{"v1,bm9wZQ==", nil}, {"v1,***", nil}, {"v1," + enc(a) + " junk", [][]byte{a}},
		{"v1," + enc(a) + ",extra", [][]byte{a}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := webhookauth.ParseStandardSignatures(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("Parse = %x, want error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %x, %v; want %x", got, err, tc.want)
			}
			again, err := webhookauth.ParseStandardSignatures(webhookauth.FormatStandardSignatures(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip = %x, %v", again, err)
			}
		})
	}
}

// urlSafe re-spells standard base64 s in the URL-safe alphabet (unpadded),
// failing the test if s has no character that differs between the two.
func urlSafe(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	u := base64.URLEncoding.EncodeToString(b)
	if u == s {
		// Pad-only difference still makes it a different spelling.
		u = strings.TrimRight(u, "=")
	}
	return u
}

// nonCanonical changes the unused low bits of the last base64 character
// before the padding of sig ("v1,<44 chars>"): the decoded bytes stay the
// same, but the text is not what a reference library writes.
func nonCanonical(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.LastIndexFunc(sig, func(r rune) bool { return r != '=' })
	v := strings.IndexByte(alphabet, sig[i])
	return sig[:i] + string(alphabet[v^1]) + sig[i+1:]
}

// TestStandardSecretSpellings: a secret is accepted in exactly the spellings
// the reference libraries accept: whsec_ optional, padded standard base64.
func TestStandardSecretSpellings(t *testing.T) {
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true},
		{"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", false},  // unpadded
		{"whsec_-__7__v_-__7__v_-__7__v_-__7__v__v7-_v7-_v4=", false}, // URL-safe
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", false},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr", false},
	} {
		_, err := webhookauth.DecodeStandardSecret(tc.secret)
		if (err == nil) != tc.ok {
			t.Errorf("DecodeStandardSecret(%q): err %v, want ok=%v", tc.secret, err, tc.ok)
		}
	}
}
