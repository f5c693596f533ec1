package ingest

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// FuzzClientIP: whatever the peer address and X-Forwarded-For, the client
// address is the peer when the peer is not a trusted proxy; otherwise it is
// no address (allow_ips then refuses), the peer, or an untrusted address that
// appears in the header: never a trusted proxy's address taken from the
// header, never a panic.
func FuzzClientIP(f *testing.F) {
	for _, tc := range [][2]string{
		{"10.1.1.1:5555", "203.0.113.9"}, {"10.1.1.1:5555", "203.0.113.9, 10.2.2.2"},
		{"198.51.100.7:5555", "203.0.113.9"}, {"10.1.1.1:5555", "not-an-ip"},
		{"[::ffff:10.1.1.1]:1", "::ffff:203.0.113.9"}, {"garbage", ",,,"},
	} {
		f.Add(tc[0], tc[1])
	}
	proxies, err := webhookauth.ParseAllowIPs([]string{"10.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		f.Fatal(err)
	}
	s := &Service{proxies: proxies}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		got := s.clientIP(r)
		peer := parseAddr(remote)
		if !s.trusted(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %v: client %v", peer, got)
			}
			return
		}
		if !got.IsValid() || got == peer {
			return
		}
		if s.trusted(got) {
			t.Fatalf("client %v is a trusted proxy", got)
		}
		found := false
		for _, hop := range strings.Split(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap() == got {
				found = true
			}
		}
		if !found {
			t.Fatalf("client %v is not in X-Forwarded-For %q", got, xff)
		}
	})
}
