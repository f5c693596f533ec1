package webhookauth_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

const (
	hmacOld = "onfido-old-token-1"
	hmacNew = "onfido-new-token-2"
)

// mac computes the expected HMAC independently of the package.
func mac(h func() hash.Hash, secret string, b []byte) []byte {
	m := hmac.New(h, []byte(secret))
	m.Write(b)
	return m.Sum(nil)
}

func TestHMACHexWithPrefix(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Hub-Signature-256", Prefix: "sha256=",
		Secrets: []string{hmacNew, hmacOld}})
	sig := hex.EncodeToString(mac(sha256.New, hmacNew, body))
	c := func(name, value string, want error) verifyCase {
		return verifyCase{name: name, header: hdr("X-Hub-Signature-256", value), want: want}
	}
	cases := []verifyCase{
		c("valid", "sha256="+sig, nil),
		c("valid old secret", "sha256="+hex.EncodeToString(mac(sha256.New, hmacOld, body)), nil),
		c("upper-case hex", "sha256="+strings.ToUpper(sig), nil),
		c("upper-case prefix", "SHA256="+sig, nil),
		c("wrong secret", "sha256="+hex.EncodeToString(mac(sha256.New, "other", body)), webhookauth.ErrSignatureMismatch),
		c("missing prefix", sig, webhookauth.ErrMalformedHeader),
		c("wrong prefix", "sha1="+sig, webhookauth.ErrMalformedHeader),
		c("prefix only", "sha256=", webhookauth.ErrMalformedHeader),
		c("non-hex", "sha256="+strings.Repeat("g", 64), webhookauth.ErrMalformedHeader),
		c("odd length hex", "sha256="+sig[:63], webhookauth.ErrMalformedHeader),
		c("sha1-sized signature", "sha256="+hex.EncodeToString(mac(sha1.New, hmacNew, body)), webhookauth.ErrMalformedHeader),
		c("base64 where hex expected", "sha256="+base64.StdEncoding.EncodeToString(mac(sha256.New, hmacNew, body)), webhookauth.ErrMalformedHeader),
		{name: "tampered body", header: hdr("X-Hub-Signature-256", "sha256="+sig), body: []byte(`{}`), want: webhookauth.ErrSignatureMismatch},
		{name: "missing header", header: hdr("X-Signature", "sha256="+sig), want: webhookauth.ErrMissingHeader, inErr: "X-Hub-Signature-256"},
	}
	runVerify(t, v, cases, hmacNew, hmacOld, sig)
}

func TestHMACBase64SHA512(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Signature", Algorithm: "SHA512", Encoding: "base64",
		Secrets: []string{hmacNew, hmacOld}})
	raw := mac(sha512.New, hmacNew, body)
	c := func(name, value string, want error) verifyCase {
		return verifyCase{name: name, header: hdr("X-Signature", value), want: want}
	}
	runVerify(t, v, []verifyCase{
		c("std padded", base64.StdEncoding.EncodeToString(raw), nil),
		c("url padded", base64.URLEncoding.EncodeToString(raw), nil),
		c("std raw", base64.RawStdEncoding.EncodeToString(raw), nil),
		c("url raw", base64.RawURLEncoding.EncodeToString(raw), nil),
		c("old secret", base64.StdEncoding.EncodeToString(mac(sha512.New, hmacOld, body)), nil),
		c("wrong secret", base64.StdEncoding.EncodeToString(mac(sha512.New, "nope", body)), webhookauth.ErrSignatureMismatch),
		c("sha256 signature", base64.StdEncoding.EncodeToString(mac(sha256.New, hmacNew, body)), webhookauth.ErrMalformedHeader),
		c("bad base64", "!!!notbase64!!!", webhookauth.ErrMalformedHeader),
		c("embedded space", base64.StdEncoding.EncodeToString(raw)[:10]+" "+base64.StdEncoding.EncodeToString(raw)[10:], webhookauth.ErrMalformedHeader),
		{name: "tampered body", header: hdr("X-Signature", base64.StdEncoding.EncodeToString(raw)), body: []byte("x"), want: webhookauth.ErrSignatureMismatch},
		c("missing", "", webhookauth.ErrMissingHeader),
	}, hmacNew, hmacOld)
}

func TestHMACSHA1(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Payload-Digest", Algorithm: "sha1", Secrets: []string{hmacNew}})
	runVerify(t, v, []verifyCase{
		{name: "valid", header: hdr("X-Payload-Digest", hex.EncodeToString(mac(sha1.New, hmacNew, body)))},
		{name: "wrong secret", header: hdr("X-Payload-Digest", hex.EncodeToString(mac(sha1.New, hmacOld, body))), want: webhookauth.ErrSignatureMismatch},
	}, hmacNew)
}

func TestSignHMAC(t *testing.T) {
	for _, tc := range []struct{ alg, enc, prefix string }{
		{"", "", ""}, {"sha256", "hex", "sha256="}, {"sha512", "base64", ""}, {"sha1", "HEX", "v0="},
	} {
		t.Run(tc.alg+"/"+tc.enc+"/"+tc.prefix, func(t *testing.T) {
			cfg := webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Sig", Algorithm: tc.alg, Encoding: tc.enc, Prefix: tc.prefix, Secrets: []string{hmacNew}}
			val, err := webhookauth.SignHMAC(hmacNew, tc.alg, tc.enc, tc.prefix, body)
			if err != nil {
				t.Fatal(err)
			}
			runVerify(t, mustNew(t, cfg), []verifyCase{{name: "signed", header: hdr("X-Sig", val)}})
		})
	}
	if _, err := webhookauth.SignHMAC(hmacNew, "md5", "", "", body); err == nil {
		t.Error("SignHMAC with md5: want error")
	}
	if _, err := webhookauth.SignHMAC(hmacNew, "", "base32", "", body); err == nil {
		t.Error("SignHMAC with base32: want error")
	}
}

func TestDecodeHMACSignature(t *testing.T) {
	tests := []struct {
		value, prefix, enc string
		want               string // hex of the decoded bytes; "!" = error
	}{
		{"abCD", "", "", "abcd"},
		{"sha256=abcd", "sha256=", "hex", "abcd"},
		{"Sha256=abcd", "sha256=", "hex", "abcd"},
		{"abcd", "sha256=", "hex", "!"},
		{"sha256", "sha256=", "hex", "!"},
		{"sha256=", "sha256=", "hex", "!"},
		{"", "", "hex", "!"},
		{"abc", "", "hex", "!"},
		{"q83v", "", "base64", "abcdef"},
		{"q83v7w==", "", "base64", "abcdefef"},
		{"q83v7w", "", "base64", "abcdefef"},
		{"-_-_", "", "base64", "fbffbf"},
		{"+/+/", "", "base64", "fbffbf"},
		{"q8 3v", "", "base64", "!"},
		{"abcd", "", "base32", "!"},
	}
	for _, tc := range tests {
		t.Run(tc.prefix+tc.value+"/"+tc.enc, func(t *testing.T) {
			got, err := webhookauth.DecodeHMACSignature(tc.value, tc.prefix, tc.enc)
			if tc.want == "!" {
				if err == nil {
					t.Fatalf("Decode = %x, want error", got)
				}
				return
			}
			if err != nil || hex.EncodeToString(got) != tc.want {
				t.Fatalf("Decode = %x, %v; want %s", got, err, tc.want)
			}
		})
	}
}
