package webhookauth_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// Every fuzz target checks, for any input: no panic; a successful parse
// round-trips through the matching Format/Encode function; an error never
// quotes the input; and the verifier accepts the header exactly when it
// carries a correct signature or credential (computed independently here),
// otherwise answering an error that wraps ErrUnauthenticated.

// verdict fails t unless err is nil exactly when want says the request is
// authentic, and unless every error is a safe ErrUnauthenticated.
func verdict(t *testing.T, err error, want bool, in string) {
	t.Helper()
	if want != (err == nil) {
		t.Fatalf("Verify(%q) = %v, want accepted=%v", in, err, want)
	}
	if err != nil && !errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Fatalf("Verify(%q) = %v, not ErrUnauthenticated", in, err)
	}
	if leaks(err, in) {
		t.Fatalf("Verify error %q quotes the input", err)
	}
}

func within(ts int64) bool {
	d := now.Sub(time.Unix(ts, 0))
	return d >= -webhookauth.DefaultTolerance && d <= webhookauth.DefaultTolerance
}

func FuzzPersonaSignature(f *testing.F) {
	good := webhookauth.SignPersona(personaNew, now, body)
	for _, s := range []string{
		good, webhookauth.SignPersona(personaOld, now, body) + " " + good, good + ",v1=" + strings.Repeat("0", 64),
		webhookauth.SignPersona(personaNew, now.Add(-time.Hour), body), "t=1700000000,v2=x " + good,
		"", " ", "t=", "v1=", "t=1,v1=zz", "t=01,v1=00", "garbage", "t=1,,v1=", strings.Repeat("t=1,v1=0 ", 20),
	} {
		f.Add(s)
	}
	v := mustNew(f, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew}})
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := webhookauth.ParsePersonaSignature(h)
		authentic := false
		if err == nil {
			n := 0
			for _, s := range sigs {
				n += len(s.V1)
				want := webhookauth.SignPersona(personaNew, time.Unix(s.Timestamp, 0), body)
				for _, v1 := range s.V1 {
					if len(v1) != sha256.Size {
						t.Fatalf("v1 of %d bytes", len(v1))
					}
					authentic = authentic || (within(s.Timestamp) && strings.HasSuffix(want, "v1="+hexString(v1)))
				}
			}
			if len(sigs) == 0 || n == 0 || n > 16 {
				t.Fatalf("Parse(%q) = %d sets, %d signatures", h, len(sigs), n)
			}
			again, err := webhookauth.ParsePersonaSignature(webhookauth.FormatPersonaSignature(sigs))
			if err != nil || !reflect.DeepEqual(again, sigs) {
				t.Fatalf("round trip of %q: %v, %v", h, again, err)
			}
		} else if leaks(err, h) {
			t.Fatalf("Parse error %q quotes the input", err)
		}
		err = v.Verify(&webhookauth.Request{Header: http.Header{"Persona-Signature": {h}}, Body: body, Now: now})
		verdict(t, err, authentic, h)
	})
}

func FuzzStandardSignatures(f *testing.F) {
	good := swSign(f, swNew, "msg_1", now, body)
	sig := good.Get("webhook-signature")
	for _, s := range []struct{ ts, sig string }{
		{"1700000000", sig}, {"1700000000", "v1a,abc " + sig}, {"1700000000", "v1,bm9wZQ== " + sig},
		{"1699990000", sig}, {"01700000000", sig}, {"", sig}, {"1700000000", ""}, {"x", "v1,"},
		{"1700000000", "v1"}, {"1700000000", "v1,!!!"}, {"1700000000", strings.Repeat("v1,AAAA ", 17)},
	} {
		f.Add(s.ts, s.sig)
	}
	v := mustNew(f, webhookauth.Config{Type: webhookauth.TypeStandardWebhooks, Secrets: []string{swNew}})
	f.Fuzz(func(t *testing.T, ts, h string) {
		sigs, err := webhookauth.ParseStandardSignatures(h)
		authentic := false
		if err == nil {
			if len(sigs) == 0 || len(sigs) > 16 {
				t.Fatalf("Parse(%q) = %d signatures", h, len(sigs))
			}
			again, err := webhookauth.ParseStandardSignatures(webhookauth.FormatStandardSignatures(sigs))
			if err != nil || !reflect.DeepEqual(again, sigs) {
				t.Fatalf("round trip of %q: %x, %v", h, again, err)
			}
			if n, err := strconv.ParseInt(ts, 10, 64); err == nil && strconv.FormatInt(n, 10) == ts && within(n) {
				want := swSign(t, swNew, "msg_1", time.Unix(n, 0), body).Get("webhook-signature")
				authentic = slices.Contains(strings.Fields(webhookauth.FormatStandardSignatures(sigs)), want)
			}
		} else if leaks(err, h) {
			t.Fatalf("Parse error %q quotes the input", err)
		}
		hd := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {h}}
		verdict(t, v.Verify(&webhookauth.Request{Header: hd, Body: body, Now: now}), authentic, h)
	})
}

func FuzzHMACSignature(f *testing.F) {
	for _, s := range []struct {
		value, prefix string
		b64           bool
	}{
		{"sha256=" + hexString(mac(sha256.New, hmacNew, body)), "sha256=", false},
		{hexString(mac(sha256.New, hmacNew, body)), "", false},
		{"SHA256=ABCDEF", "sha256=", false}, {"sha1=abc", "sha256=", false}, {"", "", false},
		{"q83v7w", "", true}, {"-_-_", "", true}, {"q8 3v", "", true}, {"x=q83v7w==", "x=", true},
	} {
		f.Add(s.value, s.prefix, s.b64)
	}
	f.Fuzz(func(t *testing.T, value, prefix string, b64 bool) {
		enc := map[bool]string{false: "hex", true: "base64"}[b64]
		sig, err := webhookauth.DecodeHMACSignature(value, prefix, enc)
		if err == nil {
			again, err := webhookauth.DecodeHMACSignature(webhookauth.EncodeHMACSignature(sig, prefix, enc), prefix, enc)
			if err != nil || !bytes.Equal(again, sig) {
				t.Fatalf("round trip of %q: %x, %v", value, again, err)
			}
		} else if leaks(err, value) {
			t.Fatalf("Decode error %q quotes the input", err)
		}
		for _, alg := range []struct {
			name string
			want []byte
		}{{"sha256", mac(sha256.New, hmacNew, body)}, {"sha512", mac(sha512.New, hmacNew, body)}} {
			cfg := webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Sig", Algorithm: alg.name, Encoding: enc, Prefix: prefix, Secrets: []string{hmacNew}}
			v := mustNew(t, cfg)
			err := v.Verify(&webhookauth.Request{Header: http.Header{"X-Sig": {value}}, Body: body, Now: now})
			verdict(t, err, sig != nil && bytes.Equal(sig, alg.want), value)
		}
	})
}

func FuzzBasicAuthorization(f *testing.F) {
	for _, s := range []string{
		webhookauth.FormatBasicAuthorization("idwise", passNew), webhookauth.FormatBasicAuthorization("idwise", passOld),
		"Basic Og==", "basic dTpw", "Basic", "Basic !", "Bearer x", "", "Basic aWR3aXNl",
	} {
		f.Add(s)
	}
	v := mustNew(f, webhookauth.Config{Type: webhookauth.TypeBasic, Username: "idwise", Secrets: []string{passNew, passOld}})
	f.Fuzz(func(t *testing.T, h string) {
		user, pass, err := webhookauth.ParseBasicAuthorization(h)
		if err == nil {
			u2, p2, err := webhookauth.ParseBasicAuthorization(webhookauth.FormatBasicAuthorization(user, pass))
			if err != nil || u2 != user || p2 != pass {
				t.Fatalf("round trip of %q: %q %q %v", h, u2, p2, err)
			}
		} else if leaks(err, h) {
			t.Fatalf("Parse error %q quotes the input", err)
		}
		authentic := err == nil && user == "idwise" && (pass == passNew || pass == passOld)
		verdict(t, v.Verify(&webhookauth.Request{Header: http.Header{"Authorization": {h}}, Body: body, Now: now}), authentic, h)
	})
}

func FuzzBearerAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer tok_new", "bearer   tok_old ", "Bearer", "Bearer  ", "Basic dTpw", "", "tok_new"} {
		f.Add(s)
	}
	v := mustNew(f, webhookauth.Config{Type: webhookauth.TypeBearer, Secrets: []string{"tok_new", "tok_old"}})
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := webhookauth.ParseBearerAuthorization(h)
		if err == nil {
			again, err := webhookauth.ParseBearerAuthorization(webhookauth.FormatBearerAuthorization(tok))
			if err != nil || again != tok || tok == "" {
				t.Fatalf("round trip of %q: %q %v", h, again, err)
			}
		} else if leaks(err, h) {
			t.Fatalf("Parse error %q quotes the input", err)
		}
		authentic := err == nil && (tok == "tok_new" || tok == "tok_old")
		verdict(t, v.Verify(&webhookauth.Request{Header: http.Header{"Authorization": {h}}, Body: body, Now: now}), authentic, h)
	})
}
