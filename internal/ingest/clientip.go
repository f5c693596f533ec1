package ingest

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// clientIP is the address allow_ips is checked against: the TCP peer, or, when
// the peer is a trusted proxy, the right-most X-Forwarded-For entry that is not
// itself a trusted proxy (entries left of it could be forged by the client).
func (s *Service) clientIP(r *http.Request) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{} // malformed chain: no address, so allow_ips refuses
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
	}
	return peer
}

func (s *Service) trusted(a netip.Addr) bool { return webhookauth.AddrAllowed(s.proxies, a) }

// parseAddr reads the IP of a "host:port" remote address.
func parseAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
