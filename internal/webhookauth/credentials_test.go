package webhookauth_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

const (
	passOld = "idwise-password-old"
	passNew = "idwise-password-new"
)

func auth(v string) http.Header { return hdr("Authorization", v) }

func TestBasicVerify(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeBasic, Username: "idwise", Secrets: []string{passNew, passOld}})
	viaStdlib, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
	viaStdlib.SetBasicAuth("idwise", passNew)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []verifyCase{
		{name: "valid", header: auth(webhookauth.FormatBasicAuthorization("idwise", passNew))},
		{name: "set by net/http", header: viaStdlib.Header},
		{name: "old password during rotation", header: auth(webhookauth.FormatBasicAuthorization("idwise", passOld))},
		{name: "scheme in lower case", header: auth("basic " + b64("idwise:"+passNew))},
		{name: "unpadded base64", header: auth("Basic " + base64.RawStdEncoding.EncodeToString([]byte("idwise:"+passNew)))},
		{name: "wrong password", header: auth(webhookauth.FormatBasicAuthorization("idwise", "guess")), want: webhookauth.ErrBadCredentials},
		{name: "password prefix", header: auth(webhookauth.FormatBasicAuthorization("idwise", passNew[:len(passNew)-1])), want: webhookauth.ErrBadCredentials},
		{name: "wrong user", header: auth(webhookauth.FormatBasicAuthorization("IDWise", passNew)), want: webhookauth.ErrBadCredentials},
		{name: "password as user", header: auth(webhookauth.FormatBasicAuthorization(passNew, "idwise")), want: webhookauth.ErrBadCredentials},
		{name: "missing header", header: hdr("X-Other", "1"), want: webhookauth.ErrMissingHeader, inErr: "Authorization"},
		{name: "bearer instead of basic", header: auth("Bearer " + passNew), want: webhookauth.ErrMalformedHeader, inErr: "Authorization"},
		{name: "scheme only", header: auth("Basic"), want: webhookauth.ErrMalformedHeader},
		{name: "bad base64", header: auth("Basic !!!"), want: webhookauth.ErrMalformedHeader},
		{name: "no colon", header: auth("Basic " + b64("idwise"+passNew)), want: webhookauth.ErrMalformedHeader},
	}
	runVerify(t, v, cases, passNew, passOld, b64("idwise:"+passNew))
}

func TestBearerVerify(t *testing.T) {
	const tokNew, tokOld = "tok_new_0123456789", "tok_old_0123456789"
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeBearer, Secrets: []string{tokNew, tokOld}})
	cases := []verifyCase{
		{name: "valid", header: auth("Bearer " + tokNew)},
		{name: "old token during rotation", header: auth("Bearer " + tokOld)},
		{name: "scheme in any case, extra spaces", header: auth("bEaReR   " + tokNew + " ")},
		{name: "wrong token", header: auth("Bearer tok_guess"), want: webhookauth.ErrBadCredentials},
		{name: "token prefix", header: auth("Bearer " + tokNew[:8]), want: webhookauth.ErrBadCredentials},
		{name: "token with suffix", header: auth("Bearer " + tokNew + "x"), want: webhookauth.ErrBadCredentials},
		{name: "missing header", header: http.Header{}, want: webhookauth.ErrMissingHeader, inErr: "Authorization"},
		{name: "token without scheme", header: auth(tokNew), want: webhookauth.ErrMalformedHeader},
		{name: "basic instead of bearer", header: auth(webhookauth.FormatBasicAuthorization("u", tokNew)), want: webhookauth.ErrMalformedHeader},
		{name: "scheme only", header: auth("Bearer"), want: webhookauth.ErrMalformedHeader},
		{name: "scheme and spaces", header: auth("Bearer    "), want: webhookauth.ErrMalformedHeader},
	}
	runVerify(t, v, cases, tokNew, tokOld)
}

func TestHeaderVerify(t *testing.T) {
	const valNew, valOld = "incode-shared-token-new", "incode-shared-token-old"
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeHeader, Header: "X-Webhook-Token", Secrets: []string{valNew, valOld}})
	tok := func(v string) http.Header { return hdr("x-webhook-token", v) }
	cases := []verifyCase{
		{name: "valid", header: tok(valNew)},
		{name: "old value during rotation", header: tok(valOld)},
		{name: "wrong value", header: tok("incode-shared-token-bad"), want: webhookauth.ErrBadCredentials},
		{name: "prefix of the value", header: tok(valNew[:5]), want: webhookauth.ErrBadCredentials},
		{name: "value with suffix", header: tok(valNew + "!"), want: webhookauth.ErrBadCredentials},
		{name: "different case", header: tok(strings.ToUpper(valNew)), want: webhookauth.ErrBadCredentials},
		{name: "both values joined", header: tok(valNew + "," + valOld), want: webhookauth.ErrBadCredentials},
		{name: "missing header", header: hdr("Authorization", valNew), want: webhookauth.ErrMissingHeader, inErr: "X-Webhook-Token"},
		{name: "empty header", header: tok(""), want: webhookauth.ErrMissingHeader, inErr: "X-Webhook-Token"},
	}
	runVerify(t, v, cases, valNew, valOld)
}

func TestNoneAcceptsEverything(t *testing.T) {
	v, err := webhookauth.New(webhookauth.Config{Type: webhookauth.TypeNone}, true)
	if err != nil {
		t.Fatal(err)
	}
	runVerify(t, v, []verifyCase{
		{name: "no headers", header: http.Header{}},
		{name: "any headers", header: auth("Bearer whatever")},
		{name: "empty body", header: nil, body: []byte{}},
	})
}

func TestParseAuthorization(t *testing.T) {
	basic := []struct{ in, user, pass string }{
		{"Basic dTpw", "u", "p"},
		{"BASIC dTpwOnE=", "u", "p:q"},
		{"Basic Og==", "", ""},
		{"Basic dTpw!", "!", ""},
		{"Basic", "!", ""},
		{"Bearer dTpw", "!", ""},
		{"Basic dQ==", "!", ""},
	}
	for _, tc := range basic {
		user, pass, err := webhookauth.ParseBasicAuthorization(tc.in)
		if tc.user == "!" {
			if err == nil {
				t.Errorf("ParseBasic(%q) = %q, %q; want error", tc.in, user, pass)
			}
			continue
		}
		if err != nil || user != tc.user || pass != tc.pass {
			t.Errorf("ParseBasic(%q) = %q, %q, %v; want %q, %q", tc.in, user, pass, err, tc.user, tc.pass)
		}
	}
	bearer := []struct{ in, want string }{
		{"Bearer abc", "abc"}, {"bearer  abc.def-ghi ", "abc.def-ghi"}, {"Bearer a b", "a b"},
		{"Bearer", "!"}, {"Bearer ", "!"}, {"Bearerabc", "!"}, {"Token abc", "!"}, {"", "!"},
	}
	for _, tc := range bearer {
		got, err := webhookauth.ParseBearerAuthorization(tc.in)
		if tc.want == "!" {
			if err == nil {
				t.Errorf("ParseBearer(%q) = %q; want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBearer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
