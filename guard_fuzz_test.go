package webhook_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/fedihook/webhook"
)

func FuzzParseAllowRule(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "127.0.0.1", "::1/128", "::1", "10.0.0.5/32:8080", "10.0.0.5:8080",
		"[::1/128]:8080", "[::1]:8080", "[fd00::/8]", "::ffff:10.0.0.0/104", "[::ffff:127.0.0.1]:80",
		"0.0.0.0/0", "::/0", "", "[", "]", "[]", "[]:", ":", "::", ":80", "[::1]:0", "10.1.0.0/8",
		"fe80::1%eth0", "[fe80::1%eth0]:80", "10.0.0.1:65536", "10.0.0.1:+1", "1.2.3.4/32:080",
		"::ffff:0:0/95", "[10.0.0.1]:80", "\x00", "[::1]:80:80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := webhook.ParseAllowRule(s)
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalid) || !strings.HasPrefix(err.Error(), "webhook: allow rule ") {
				t.Fatalf("ParseAllowRule(%q) error %q: want a webhook: error matching ErrInvalid", s, err)
			}
			if r != (webhook.AllowRule{}) {
				t.Fatalf("ParseAllowRule(%q) returned %v with an error", s, r)
			}
			return
		}
		p := r.Prefix()
		if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || (p.Addr().Is4In6() && p.Bits() >= 96) {
			t.Fatalf("ParseAllowRule(%q) = prefix %v: want a valid, masked prefix without zone, IPv4 not mapped", s, p)
		}
		again, err := webhook.ParseAllowRule(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseAllowRule(%q) = %v, which reparses to %v, %v", s, r, again, err)
		}
		// The network's own address on the rule's port is allowed.
		port := r.Port()
		if port == 0 {
			port = 443
		}
		if !r.Allows(netip.AddrPortFrom(p.Addr(), port)) {
			t.Fatalf("%v does not allow its own address %v port %d", r, p.Addr(), port)
		}
		if r.Port() != 0 && r.Allows(netip.AddrPortFrom(p.Addr(), r.Port()+1)) {
			t.Fatalf("%v allows a port other than its own", r)
		}
		if err := webhook.NewGuard(r).Check(netip.AddrPortFrom(p.Addr(), port)); err != nil {
			t.Fatalf("guard with %v refuses %v port %d: %v", r, p.Addr(), port, err)
		}
	})
}

func FuzzIsPublicAddr(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "::ffff:127.0.0.1", "0.0.0.0", "::", "169.254.169.254", "100.64.0.1", "fd00::1",
		"64:ff9b::a00:1", "64:ff9b:1::a00:1", "2002:a00:1::", "::1", "fe80::1", "fe80::1%eth0",
		"10.1.2.3", "172.16.0.1", "192.168.1.1", "224.0.0.1", "ff02::1", "255.255.255.255",
		"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::",
		"::8.8.8.8", "2001::1", "2001:db8::1",
	} {
		a := netip.MustParseAddr(s)
		f.Add([]byte(s))
		if a.Zone() == "" {
			b16 := a.As16()
			f.Add(b16[:])
			if a.Is4() {
				b4 := a.As4()
				f.Add(b4[:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// 4 or 16 bytes are a raw address; anything else is text.
		var a netip.Addr
		switch len(data) {
		case 4:
			a = netip.AddrFrom4([4]byte(data))
		case 16:
			a = netip.AddrFrom16([16]byte(data))
		default:
			var err error
			if a, err = netip.ParseAddr(string(data)); err != nil {
				return
			}
		}
		public := webhook.IsPublicAddr(a)

		ap := netip.AddrPortFrom(a, 443)
		if err := webhook.NewGuard().Check(ap); (err == nil) != public {
			t.Fatalf("IsPublicAddr(%v) = %t but Guard.Check says %v", a, public, err)
		} else if err != nil && (!errors.Is(err, webhook.ErrBlockedAddress) || !strings.HasPrefix(err.Error(), "webhook: ")) {
			t.Fatalf("Check(%v) = %q: want a webhook: error matching ErrBlockedAddress", ap, err)
		}
		// An allow rule for the address itself lets it through.
		if a.Zone() == "" {
			u := a.Unmap()
			r, err := webhook.ParseAllowRule(netip.PrefixFrom(u, u.BitLen()).String())
			if err != nil {
				t.Fatalf("cannot build a rule for %v: %v", a, err)
			}
			if err := webhook.NewGuard(r).Check(ap); err != nil {
				t.Fatalf("guard with %v refuses %v: %v", r, ap, err)
			}
		}
		// A mapped address is the IPv4 address it maps.
		if a.Is4In6() && public != webhook.IsPublicAddr(a.Unmap()) {
			t.Fatalf("IsPublicAddr(%v) = %t, but not for %v", a, public, a.Unmap())
		}
		if !public {
			return
		}
		if !a.IsGlobalUnicast() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
			a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() || a.IsLinkLocalMulticast() ||
			a.Zone() != "" {
			t.Fatalf("IsPublicAddr(%v) = true, but the standard library says it is not global unicast", a)
		}
		if u := a.Unmap(); u.Is6() && !netip.MustParsePrefix("2000::/3").Contains(u) &&
			!netip.MustParsePrefix("64:ff9b::/96").Contains(u) && !netip.MustParsePrefix("64:ff9b:1::/48").Contains(u) {
			t.Fatalf("IsPublicAddr(%v) = true outside 2000::/3 and NAT64", a)
		}
	})
}
