package webhookauth_test

import (
	"net/netip"
	"testing"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// FuzzParseAllowIPs: an allow_ips entry either fails or becomes a canonical
// prefix (masked, IPv4 not mapped) that parses back to itself, contains
// exactly the addresses AddrAllowed lets through, and never panics.
func FuzzParseAllowIPs(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", " 2001:db8::/32 ", "::ffff:10.1.2.3/104", "10.1.2.3/8", "fe80::1%eth0", "1.2.3.4/33", "", "::/0"} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, entry, addr string) {
		ps, err := webhookauth.ParseAllowIPs([]string{entry})
		if err != nil {
			return // a config error; it quotes the entry by design
		}
		if len(ps) != 1 {
			t.Fatalf("%q: %d prefixes", entry, len(ps))
		}
		p := ps[0]
		if p != p.Masked() || (p.Addr().Is4In6()) {
			t.Fatalf("%q: %v is not canonical", entry, p)
		}
		again, err := webhookauth.ParseAllowIPs([]string{p.String()})
		if err != nil || again[0] != p {
			t.Fatalf("%q: %v does not parse back (%v, %v)", entry, p, again, err)
		}
		if a, err := netip.ParseAddr(addr); err == nil {
			want := a.IsValid() && p.Contains(a.Unmap().WithZone(""))
			if got := webhookauth.AddrAllowed(ps, a); got != want {
				t.Fatalf("AddrAllowed(%v, %v) = %v, want %v", p, a, got, want)
			}
		}
	})
}
