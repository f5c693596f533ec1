package webhookauth

import (
	"net/netip"
	"strconv"
	"strings"
)

// ipAllowVerifier refuses requests from addresses outside allow before
// handing them to next, so an unlisted client costs no HMAC work.
type ipAllowVerifier struct {
	allow []netip.Prefix // canonical: masked, IPv4 prefixes as IPv4
	next  Verifier
}

// Verify implements [Verifier].
func (v *ipAllowVerifier) Verify(r *Request) error {
	if !AddrAllowed(v.allow, r.RemoteIP) {
		return ErrIPNotAllowed
	}
	return v.next.Verify(r)
}

// CheckHeaders implements [Verifier]: the address first, then the scheme's
// own header checks.
func (v *ipAllowVerifier) CheckHeaders(r *Request) error {
	if !AddrAllowed(v.allow, r.RemoteIP) {
		return ErrIPNotAllowed
	}
	return v.next.CheckHeaders(r)
}

// AddrAllowed reports whether ip lies in one of prefixes. An invalid ip is
// never allowed. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack
// listener reports IPv4 clients) is treated as the IPv4 address, and a zone
// (fe80::1%eth0) is ignored. prefixes are expected as [ParseAllowIPs] returns
// them.
func AddrAllowed(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseAllowIPs parses allow_ips entries: CIDRs ("10.0.0.0/8",
// "2001:db8::/32") or single addresses ("192.0.2.7", "2001:db8::1"),
// surrounding spaces ignored. Host bits in a CIDR are masked off
// ("10.1.2.3/8" means 10.0.0.0/8), and IPv4-mapped IPv6 entries become IPv4
// ones. The error names the first bad entry (allow_ips[i]), quoting it.
func ParseAllowIPs(entries []string) ([]netip.Prefix, error) {
	p, errs := parseAllowIPs(entries)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return p, nil
}

// parseAllowIPs is ParseAllowIPs returning one *ConfigError per bad entry.
func parseAllowIPs(entries []string) ([]netip.Prefix, []error) {
	var (
		out  []netip.Prefix
		errs []error
	)
	for i, e := range entries {
		p, ok := parseAllowIP(strings.TrimSpace(e))
		if !ok {
			errs = append(errs, configErr("allow_ips["+strconv.Itoa(i)+"]", "%q is not an IP or CIDR", e))
			continue
		}
		out = append(out, p)
	}
	return out, errs
}

func parseAllowIP(s string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// ::ffff:a.b.c.d/n with n >= 96 covers only IPv4-mapped addresses, which
	// AddrAllowed unmaps; express it as the IPv4 prefix it stands for.
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}
