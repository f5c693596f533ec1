package webhookauth_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

func TestAllowIPs(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypeHeader, Header: "webhookAuth", Secrets: []string{"credas-token-1"},
		AllowIPs: []string{"192.0.2.0/24", "2001:db8::/32", " 198.51.100.7 ", "::ffff:203.0.113.0/120", "fe80::/10"}})
	ok := hdr("webhookAuth", "credas-token-1")
	bad := hdr("webhookAuth", "credas-token-2")
	cases := []verifyCase{
		{name: "IPv4 in CIDR", header: ok, ip: "192.0.2.200"},
		{name: "IPv4-mapped IPv6 in an IPv4 CIDR", header: ok, ip: "::ffff:192.0.2.200"},
		{name: "single IPv4", header: ok, ip: "198.51.100.7"},
		{name: "IPv6 in CIDR", header: ok, ip: "2001:db8:1234::1"},
		{name: "IPv4 in an IPv4-mapped IPv6 CIDR", header: ok, ip: "203.0.113.9"},
		{name: "link-local with zone", header: ok, ip: "fe80::1%eth0"},
		{name: "allowed address, wrong credentials", header: bad, ip: "192.0.2.1", want: webhookauth.ErrBadCredentials},
		{name: "IPv4 next to the single IP", header: ok, ip: "198.51.100.8", want: webhookauth.ErrIPNotAllowed},
		{name: "IPv4 outside", header: ok, ip: "192.0.3.1", want: webhookauth.ErrIPNotAllowed},
		{name: "IPv4-mapped IPv6 outside", header: ok, ip: "::ffff:10.0.0.1", want: webhookauth.ErrIPNotAllowed},
		{name: "IPv6 outside", header: ok, ip: "2001:db9::1", want: webhookauth.ErrIPNotAllowed},
		{name: "IPv4 CIDR does not admit IPv6", header: ok, ip: "::c000:201", want: webhookauth.ErrIPNotAllowed},
		{name: "refused before credentials are looked at", header: http.Header{}, ip: "10.0.0.1", want: webhookauth.ErrIPNotAllowed},
	}
	runVerify(t, v, cases, "credas-token-1")

	t.Run("invalid RemoteIP", func(t *testing.T) {
		err := v.Verify(&webhookauth.Request{Header: ok, Body: body, Now: now})
		checkErr(t, err, webhookauth.ErrIPNotAllowed, "")
	})
}

// TestAllowIPsBeforeTimestamp shows the order of checks on a signed scheme: a
// stale request from an unlisted address is refused for the address.
func TestAllowIPsBeforeTimestamp(t *testing.T) {
	v := mustNew(t, webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{personaNew}, AllowIPs: []string{"192.0.2.0/24"}})
	stale := personaHdr(webhookauth.SignPersona(personaNew, now.Add(-time.Hour), body))
	runVerify(t, v, []verifyCase{
		{name: "listed, stale", header: stale, ip: "192.0.2.9", want: webhookauth.ErrTimestampOutOfTolerance},
		{name: "unlisted, stale", header: stale, ip: "192.0.3.9", want: webhookauth.ErrIPNotAllowed},
		{name: "listed, valid", header: personaHdr(webhookauth.SignPersona(personaNew, now, body)), ip: "192.0.2.9"},
	})
}

func TestAllowIPsWithNone(t *testing.T) {
	v, err := webhookauth.New(webhookauth.Config{Type: webhookauth.TypeNone, AllowIPs: []string{"2001:db8::1"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	runVerify(t, v, []verifyCase{
		{name: "listed", header: http.Header{}, ip: "2001:db8::1"},
		{name: "unlisted", header: http.Header{}, ip: "2001:db8::2", want: webhookauth.ErrIPNotAllowed},
	})
}

func TestParseAllowIPs(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical prefix; "" = error
	}{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"10.1.2.3", "10.1.2.3/32"},
		{"2001:DB8::1", "2001:db8::1/128"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"x", ""}, {"", ""}, {"10.0.0.0/33", ""}, {"10.0.0.256", ""}, {"fe80::1%eth0", ""}, {"10.0.0.0/-1", ""},
	}
	for _, tc := range tests {
		got, err := webhookauth.ParseAllowIPs([]string{tc.in})
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseAllowIPs(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != netip.MustParsePrefix(tc.want) {
			t.Errorf("ParseAllowIPs(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}
