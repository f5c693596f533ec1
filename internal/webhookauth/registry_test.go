package webhookauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

const allTypes = "basic, bearer, header, hmac, none, persona, standard_webhooks"

func TestTypes(t *testing.T) {
	if got := strings.Join(webhookauth.Types(), ", "); got != allTypes {
		t.Fatalf("Types() = %s, want %s", got, allTypes)
	}
}

// TestNewConfigErrors has one row per message New can produce.
func TestNewConfigErrors(t *testing.T) {
	type C = webhookauth.Config
	sec := []string{"s3cr3t-value"}
	tests := []struct {
		name  string
		cfg   C
		allow bool
		want  string
	}{
		{"no type", C{Secrets: sec}, false, "type: is required, one of " + allTypes},
		{"unknown type", C{Type: "foo", Secrets: sec}, false, `type: "foo" is not one of ` + allTypes},
		{"type is case-sensitive", C{Type: "Persona", Secrets: sec}, false, `type: "Persona" is not one of ` + allTypes},
		{"none without allow_unauthenticated", C{Type: "none"}, false, "type: none requires the source's allow_unauthenticated: true"},
		{"no secrets", C{Type: "persona"}, false, "secrets: at least one secret is required"},
		{"empty secret list", C{Type: "bearer", Secrets: []string{}}, false, "secrets: at least one secret is required"},
		{"empty secret", C{Type: "persona", Secrets: []string{"a", ""}}, false, "secrets[1]: must not be empty"},
		{"negative tolerance", C{Type: "persona", Secrets: sec, Tolerance: -time.Second}, false, "tolerance: must not be negative"},
		{"unknown algorithm", C{Type: "hmac", Header: "X-Sig", Algorithm: "md5", Secrets: sec}, false, `algorithm: "md5" is not one of sha256, sha512, sha1`},
		{"unknown encoding", C{Type: "hmac", Header: "X-Sig", Encoding: "base32", Secrets: sec}, false, `encoding: "base32" is not one of hex, base64`},
		{"hmac without header", C{Type: "hmac", Secrets: sec}, false, "header: is required for type hmac"},
		{"header without header", C{Type: "header", Secrets: sec}, false, "header: is required for type header"},
		{"invalid header name", C{Type: "header", Header: "X Token", Secrets: sec}, false, `header: "X Token" is not a valid header name`},
		{"basic without username", C{Type: "basic", Secrets: sec}, false, "username: is required for type basic"},
		{"basic username with colon", C{Type: "basic", Username: "a:b", Secrets: sec}, false, "username: must not contain a colon (RFC 7617)"},
		{"undecodable whsec", C{Type: "standard_webhooks", Secrets: []string{"whsec_s3cr3t-value!"}}, false, "secrets[0]: not a whsec_<base64> secret"},
		{"empty whsec", C{Type: "standard_webhooks", Secrets: []string{"whsec_"}}, false, "secrets[0]: not a whsec_<base64> secret"},
		{"header on bearer", C{Type: "bearer", Header: "X-Token", Secrets: sec}, false, "header: is not used by type bearer"},
		{"username on persona", C{Type: "persona", Username: "u", Secrets: sec}, false, "username: is not used by type persona"},
		{"algorithm on standard_webhooks", C{Type: "standard_webhooks", Algorithm: "sha256", Secrets: []string{swNew}}, false, "algorithm: is not used by type standard_webhooks"},
		{"encoding on header", C{Type: "header", Header: "X-T", Encoding: "hex", Secrets: sec}, false, "encoding: is not used by type header"},
		{"prefix on basic", C{Type: "basic", Username: "u", Prefix: "x", Secrets: sec}, false, "prefix: is not used by type basic"},
		{"tolerance on hmac", C{Type: "hmac", Header: "X-Sig", Tolerance: time.Minute, Secrets: sec}, false, "tolerance: is not used by type hmac"},
		{"secrets on none", C{Type: "none", Secrets: sec}, true, "secrets: is not used by type none"},
		{"bad allow_ips entry", C{Type: "none", AllowIPs: []string{"10.0.0.0/8", "x"}}, true, `allow_ips[1]: "x" is not an IP or CIDR`},
		{"allow_ips checked for unknown types too", C{Type: "foo", AllowIPs: []string{"10.0.0.0/33"}}, false,
			`type: "foo" is not one of ` + allTypes + "\n" + `allow_ips[0]: "10.0.0.0/33" is not an IP or CIDR`},
		{"several problems, one line each", C{Type: "hmac", Algorithm: "md5", Secrets: []string{"", "s3cr3t-value"}, AllowIPs: []string{"y"}}, false,
			"secrets[0]: must not be empty\nheader: is required for type hmac\n" +
				`algorithm: "md5" is not one of sha256, sha512, sha1` + "\n" + `allow_ips[0]: "y" is not an IP or CIDR`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := webhookauth.New(tc.cfg, tc.allow)
			if err == nil {
				t.Fatalf("New = %v, want error %q", v, tc.want)
			}
			if v != nil {
				t.Errorf("New returned a verifier along with an error")
			}
			if err.Error() != tc.want {
				t.Fatalf("New error:\n%s\nwant:\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks a secret: %s", err)
			}
			lines := strings.Split(tc.want, "\n")
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(lines) {
				t.Fatalf("error is not %d joined errors: %#v", len(lines), err)
			}
			for i, e := range joined.Unwrap() {
				ce, ok := errors.AsType[*webhookauth.ConfigError](e)
				if !ok || !strings.HasPrefix(lines[i], ce.Field+": ") {
					t.Errorf("line %d: %v is not a *ConfigError for its field", i, e)
				}
			}
		})
	}
}

// validConfigs has one working config per type; TestSign relies on it.
var validConfigs = []webhookauth.Config{
	{Type: "persona", Secrets: []string{personaNew, personaOld}, Tolerance: 10 * time.Minute},
	{Type: "hmac", Header: "X-Sig", Algorithm: "sha512", Encoding: "Base64", Prefix: "v1=", Secrets: []string{hmacNew}},
	{Type: "hmac", Header: "X-Sig", Secrets: []string{hmacNew}},
	{Type: "standard_webhooks", Secrets: []string{swNew, swOld}},
	{Type: "basic", Username: "idwise", Secrets: []string{passNew}},
	{Type: "bearer", Secrets: []string{"tok"}},
	{Type: "header", Header: "X-Webhook-Token", Secrets: []string{"v"}, AllowIPs: []string{"192.0.2.0/24"}},
	{Type: "none", AllowIPs: []string{}},
}

// TestSign: what Sign produces passes the verifier, for every type; a
// tampered body fails it wherever the scheme covers the body.
func TestSign(t *testing.T) {
	for i, cfg := range validConfigs {
		t.Run(fmt.Sprintf("%d_%s", i, cfg.Type), func(t *testing.T) {
			v, err := webhookauth.New(cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			if err := webhookauth.Sign(cfg, h, body, now); err != nil {
				t.Fatal(err)
			}
			req := &webhookauth.Request{Header: h, Body: body, RemoteIP: netip.MustParseAddr("192.0.2.1"), Now: now}
			if err := v.Verify(req); err != nil {
				t.Fatalf("Verify(Sign) = %v", err)
			}
			req.Body = []byte("tampered")
			err = v.Verify(req)
			signsBody := cfg.Type == "persona" || cfg.Type == "hmac" || cfg.Type == "standard_webhooks"
			if signsBody != errors.Is(err, webhookauth.ErrSignatureMismatch) {
				t.Fatalf("Verify(tampered) = %v", err)
			}
		})
	}
	if err := webhookauth.Sign(webhookauth.Config{Type: "hmac"}, http.Header{}, body, now); err == nil {
		t.Fatal("Sign with an invalid config: want error")
	}
}

func TestSignKeepsWebhookID(t *testing.T) {
	h := hdr("webhook-id", "msg_mine")
	if err := webhookauth.Sign(webhookauth.Config{Type: "standard_webhooks", Secrets: []string{swNew}}, h, body, now); err != nil {
		t.Fatal(err)
	}
	want := swSign(t, swNew, "msg_mine", now, body)
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("Sign = %v, want %v", h, want)
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{webhookauth.ErrMissingHeader, "missing_header"},
		{fmt.Errorf("ctx: %w", webhookauth.ErrMalformedHeader), "malformed_header"},
		{webhookauth.ErrSignatureMismatch, "signature_mismatch"},
		{webhookauth.ErrTimestampOutOfTolerance, "timestamp_out_of_tolerance"},
		{webhookauth.ErrIPNotAllowed, "ip_not_allowed"},
		{webhookauth.ErrBadCredentials, "bad_credentials"},
		{webhookauth.ErrUnauthenticated, "unauthenticated"},
		{errors.New("boom"), "error"},
	}
	for _, tc := range tests {
		if got := webhookauth.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if tc.err != nil && tc.want != "error" && !errors.Is(tc.err, webhookauth.ErrUnauthenticated) {
			t.Errorf("%v does not wrap ErrUnauthenticated", tc.err)
		}
	}
}
