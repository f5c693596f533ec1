package webhookauth_test

import (
	"bufio"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

const (
	personaOld = "wbhsec_old-secret-0001"
	personaNew = "wbhsec_new-secret-0002"
)

func personaHdr(v string) http.Header { return hdr(webhookauth.PersonaHeader, v) }

func TestPersonaVerify(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew, personaOld}})
	good := webhookauth.SignPersona(personaNew, now, body)
	old := webhookauth.SignPersona(personaOld, now, body)
	wrong := webhookauth.SignPersona("wbhsec_someone-else", now, body)
	tol := webhookauth.DefaultTolerance
	sigHex := strings.SplitN(good, "v1=", 2)[1]
	cases := []verifyCase{
		{name: "valid new secret", header: personaHdr(good)},
		{name: "valid old secret during rotation", header: personaHdr(old)},
		{name: "rotation: two sets, both valid", header: personaHdr(old + " " + good)},
		{name: "rotation: first set wrong, second valid", header: personaHdr(wrong + " " + old)},
		{name: "rotation: first set stale, second valid", header: personaHdr(webhookauth.SignPersona(personaNew, now.Add(-time.Hour), body) + " " + good)},
		{name: "rotation: sets separated by several spaces and a tab", header: personaHdr(wrong + "  \t" + good)},
		{name: "several v1 in one set, last valid", header: personaHdr(wrong + ",v1=" + sigHex)},
		{name: "upper-case hex", header: personaHdr("t=1700000000,v1=" + strings.ToUpper(sigHex))},
		{name: "unknown key ignored", header: personaHdr(good + ",v0=whatever")},
		{name: "past edge of tolerance", header: personaHdr(good), skew: tol},
		{name: "future edge of tolerance", header: personaHdr(good), skew: -tol},
		{name: "stale by a second", header: personaHdr(good), skew: tol + time.Second, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "stale by a nanosecond", header: personaHdr(good), skew: tol + 1, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "future by a second", header: personaHdr(good), skew: -tol - time.Second, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "stale even with correct signature", header: personaHdr(webhookauth.SignPersona(personaNew, now.Add(-tol-time.Second), body)), want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "wrong secret", header: personaHdr(wrong), want: webhookauth.ErrSignatureMismatch},
		{name: "tampered body", header: personaHdr(good), body: []byte(`{"data":{"id":"evt_124"}}`), want: webhookauth.ErrSignatureMismatch},
		{name: "timestamp changed", header: personaHdr("t=1700000001,v1=" + sigHex), want: webhookauth.ErrSignatureMismatch},
		{name: "missing header", header: hdr("X-Other", good), want: webhookauth.ErrMissingHeader, inErr: "Persona-Signature"},
		{name: "empty header", header: personaHdr(""), want: webhookauth.ErrMissingHeader, inErr: "Persona-Signature"},
		{name: "only spaces", header: personaHdr("   "), want: webhookauth.ErrMalformedHeader, inErr: "Persona-Signature"},
		{name: "garbage", header: personaHdr("garbage"), want: webhookauth.ErrMalformedHeader, inErr: "Persona-Signature"},
		{name: "missing t", header: personaHdr("v1=" + sigHex), want: webhookauth.ErrMalformedHeader},
		{name: "missing v1", header: personaHdr("t=1700000000"), want: webhookauth.ErrMalformedHeader},
		{name: "non-numeric t", header: personaHdr("t=soon,v1=" + sigHex), want: webhookauth.ErrMalformedHeader},
		{name: "negative t", header: personaHdr("t=-1700000000,v1=" + sigHex), want: webhookauth.ErrMalformedHeader},
		{name: "non-hex v1", header: personaHdr("t=1700000000,v1=" + strings.Repeat("zz", 32)), want: webhookauth.ErrMalformedHeader},
		{name: "short v1", header: personaHdr("t=1700000000,v1=" + sigHex[:40]), want: webhookauth.ErrMalformedHeader},
		{name: "unusable v1 next to a valid one skipped", header: personaHdr(good + ",v1=nothex " + wrong + ",v1=abcd")},
		{name: "set of another version skipped", header: personaHdr("t=1700000000,v2=abc " + good)},
		{name: "only sets of another version", header: personaHdr("t=1700000000,v2=abc"), want: webhookauth.ErrMalformedHeader},
		{name: "one malformed set spoils the header", header: personaHdr(good + " t=soon,v1=" + sigHex), want: webhookauth.ErrMalformedHeader},
		{name: "too many sets", header: personaHdr(strings.Repeat(wrong+" ", 16) + good), want: webhookauth.ErrMalformedHeader},
	}
	runVerify(t, v, cases, personaNew, personaOld, sigHex)
}

func TestPersonaCustomTolerance(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew}, Tolerance: time.Minute})
	good := personaHdr(webhookauth.SignPersona(personaNew, now, body))
	runVerify(t, v, []verifyCase{
		{name: "at the edge", header: good, skew: time.Minute},
		{name: "beyond the edge", header: good, skew: time.Minute + time.Second, want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "within the default but not the configured tolerance", header: good, skew: -2 * time.Minute, want: webhookauth.ErrTimestampOutOfTolerance},
	})
}

// TestPersonaHeaderCaseInsensitive sends the header in lower case on the wire.
func TestPersonaHeaderCaseInsensitive(t *testing.T) {
	raw := "POST /webhooks/persona HTTP/1.1\r\nHost: x\r\npersona-signature: " +
		webhookauth.SignPersona(personaNew, now, body) + "\r\nContent-Length: 0\r\n\r\n"
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew}})
	if err := v.Verify(&webhookauth.Request{Header: req.Header, Body: body, Now: now}); err != nil {
		t.Fatalf("Verify = %v, want accepted", err)
	}
}

func TestParsePersonaSignature(t *testing.T) {
	a := strings.Repeat("ab", 32)
	b := strings.Repeat("CD", 32)
	tests := []struct {
		in   string
		want []webhookauth.PersonaSignature
		ok   bool
	}{
		{in: "t=1,v1=" + a, ok: true, want: []webhookauth.PersonaSignature{{Timestamp: 1, V1: [][]byte{hexBytes(a)}}}},
		{in: "t=0,v1=" + a + ",v1=" + b + " v1=" + b + ",t=2", ok: true, want: []webhookauth.PersonaSignature{
			{Timestamp: 0, V1: [][]byte{hexBytes(a), hexBytes(b)}},
			{Timestamp: 2, V1: [][]byte{hexBytes(b)}},
		}},
		{in: "t=1,v1=zz,v1=" + a + ",v1=abcd", ok: true, want: []webhookauth.PersonaSignature{{Timestamp: 1, V1: [][]byte{hexBytes(a)}}}},
		{in: "t=1,v2=x t=3,v1=" + a, ok: true, want: []webhookauth.PersonaSignature{{Timestamp: 3, V1: [][]byte{hexBytes(a)}}}},
		{in: ""}, {in: " "}, {in: "t=1"}, {in: "t=1 t=2,v2=" + a}, {in: "t=1,v1=" + a + " v1=" + a}, {in: "v1=" + a}, {in: "t=,v1=" + a}, {in: "t=01,v1=" + a},
		{in: "t=+1,v1=" + a}, {in: "t=1,t=1,v1=" + a}, {in: "t=1,v1=" + a + ","}, {in: "t=1,,v1=" + a},
		{in: "t=1;v1=" + a}, {in: "t=1,v1=" + a[:63]}, {in: "t=1,v1=" + a + "ab"}, {in: "t=1,v1=xx,v1=" + a[:62]}, {in: "t=1,=x,v1=" + a},
		{in: "t=1234567890123456789,v1=" + a},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := webhookauth.ParsePersonaSignature(tc.in)
			if !tc.ok {
				if err == nil {
					t.Fatalf("Parse = %v, want error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", got, err, tc.want)
			}
			again, err := webhookauth.ParsePersonaSignature(webhookauth.FormatPersonaSignature(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip = %v, %v; want %v", again, err, got)
			}
		})
	}
}

// TestPersonaErrorsAreStable pins the error text: a log line operators grep.
func TestPersonaErrorsAreStable(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew}})
	err := v.Verify(&webhookauth.Request{Header: personaHdr("t=x,v1=00"), Body: body, Now: now})
	if got, want := err.Error(), "unauthenticated: malformed header: Persona-Signature: timestamp is not Unix seconds"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
	if !errors.Is(err, webhookauth.ErrMalformedHeader) || webhookauth.Reason(err) != "malformed_header" {
		t.Fatalf("error %v: Reason = %q", err, webhookauth.Reason(err))
	}
}
