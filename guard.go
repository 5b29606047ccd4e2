package webhook

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IsPublicAddr reports whether a is a global unicast address: one that a
// webhook may be delivered to without an allow-list entry. It is false for
// every address that names this host, a private or link-local network, or
// a range reserved for a special purpose:
//
//   - IPv4: 0.0.0.0/8 (including the unspecified 0.0.0.0), loopback
//     127.0.0.0/8, RFC 1918 private 10.0.0.0/8, 172.16.0.0/12 and
//     192.168.0.0/16, shared address space (carrier-grade NAT)
//     100.64.0.0/10, link-local 169.254.0.0/16 (home of cloud metadata
//     services such as 169.254.169.254), IETF protocol assignments
//     192.0.0.0/24, documentation 192.0.2.0/24, 198.51.100.0/24 and
//     203.0.113.0/24, the deprecated 6to4 relay anycast 192.88.99.0/24,
//     benchmarking 198.18.0.0/15, multicast 224.0.0.0/4, reserved
//     240.0.0.0/4 and the broadcast 255.255.255.255.
//   - IPv6: the unspecified ::, loopback ::1, anything outside the global
//     unicast space 2000::/3 (so unique local fc00::/7, link-local
//     fe80::/10, site-local fec0::/10, multicast ff00::/8, discard-only
//     100::/64 and the rest of ::/8), and inside it the IETF protocol
//     assignments 2001::/23 (Teredo 2001::/32, benchmarking 2001:2::/48,
//     ORCHID 2001:10::/28 and ORCHIDv2 2001:20::/28 among them) and
//     documentation 2001:db8::/32 and 3fff::/20.
//   - Any address with a zone (fe80::1%eth0).
//
// IPv6 addresses that embed an IPv4 address are judged by it: an
// IPv4-mapped address ::ffff:a.b.c.d is the IPv4 address itself (the
// kernel connects to it over IPv4); a 6to4 address 2002:AABB:CCDD::/48 and
// a NAT64 address 64:ff9b::a.b.c.d are public when the IPv4 address they
// lead to is. A local-use NAT64 address in 64:ff9b:1::/48 is judged the
// same way when it has the /96 layout (64:ff9b:1::a.b.c.d, bits 48 to 95
// zero) and refused otherwise, since the position of the IPv4 address
// depends on the network's prefix length. The deprecated IPv4-compatible
// form ::a.b.c.d is always refused.
//
// The zero Addr is not public.
func IsPublicAddr(a netip.Addr) bool { return blockReason(a) == "" }

// An addrRange is a range that is not global unicast, with the words that
// complete "ADDRESS is ..." in a guard error.
type addrRange struct {
	prefix netip.Prefix
	what   string
}

func blocked(prefix, what string) addrRange {
	return addrRange{netip.MustParsePrefix(prefix), what + " (" + prefix + ")"}
}

// blockedV4 lists the IPv4 ranges that are not global unicast, after
// IANA's IPv4 Special-Purpose Address Registry. The first match names the
// reason, so narrower ranges come before the ones that hold them.
var blockedV4 = []addrRange{
	blocked("0.0.0.0/8", `in "this network"`),
	blocked("10.0.0.0/8", "private"),
	blocked("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
	blocked("127.0.0.0/8", "loopback"),
	blocked("169.254.0.0/16", "link-local"),
	blocked("172.16.0.0/12", "private"),
	blocked("192.0.0.0/24", "reserved for IETF protocol assignments"),
	blocked("192.0.2.0/24", "reserved for documentation"),
	blocked("192.88.99.0/24", "the deprecated 6to4 relay anycast"),
	blocked("192.168.0.0/16", "private"),
	blocked("198.18.0.0/15", "reserved for benchmarking"),
	blocked("198.51.100.0/24", "reserved for documentation"),
	blocked("203.0.113.0/24", "reserved for documentation"),
	blocked("224.0.0.0/4", "multicast"),
	blocked("255.255.255.255/32", "broadcast"),
	blocked("240.0.0.0/4", "reserved"),
}

// blockedV6 lists the IPv6 ranges that are not global unicast and are not
// judged by an embedded IPv4 address, after IANA's IPv6 Special-Purpose
// Address Registry. An address that matches none of them must still be in
// 2000::/3.
var blockedV6 = []addrRange{
	blocked("fe80::/10", "link-local"),
	blocked("fec0::/10", "site-local"),
	blocked("fc00::/7", "unique local"),
	blocked("ff00::/8", "multicast"),
	blocked("100::/64", "discard-only"),
	blocked("2001::/32", "Teredo"),
	blocked("2001:2::/48", "reserved for benchmarking"),
	blocked("2001:10::/28", "ORCHID"),
	blocked("2001:20::/28", "ORCHIDv2"),
	blocked("2001::/23", "reserved for IETF protocol assignments"),
	blocked("2001:db8::/32", "reserved for documentation"),
	blocked("3fff::/20", "reserved for documentation"),
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

// blockReason returns why a is not public, as words that complete
// "ADDRESS is ...", or "" when it is public.
func blockReason(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not a valid address"
	case a.Zone() != "":
		return "scoped to zone " + strconv.Quote(a.Zone())
	case a.IsUnspecified():
		return "unspecified"
	case a.Is4():
		for _, r := range blockedV4 {
			if r.prefix.Contains(a) {
				return r.what
			}
		}
		return ""
	case a.Is4In6():
		return embedded("IPv4-mapped", a.Unmap())
	case a.IsLoopback():
		return "loopback (::1)"
	}
	b := a.As16()
	switch {
	case ipv4Compatible.Contains(a):
		if r := embedded("IPv4-compatible", v4At(b, 12)); r != "" {
			return r
		}
		return "IPv4-compatible (::/96), a deprecated form"
	case nat64WellKnown.Contains(a):
		return embedded("NAT64 (64:ff9b::/96)", v4At(b, 12))
	case nat64Local.Contains(a):
		for _, x := range b[6:12] {
			if x != 0 {
				return "local-use NAT64 (64:ff9b:1::/48) in a layout other than /96"
			}
		}
		return embedded("local-use NAT64 (64:ff9b:1::/48)", v4At(b, 12))
	case sixToFour.Contains(a):
		return embedded("6to4 (2002::/16)", v4At(b, 2))
	}
	for _, r := range blockedV6 {
		if r.prefix.Contains(a) {
			return r.what
		}
	}
	if !globalUnicast6.Contains(a) {
		return "reserved (outside the global unicast 2000::/3)"
	}
	return ""
}

// embedded judges an IPv6 address of the given form by the IPv4 address
// v4 it embeds.
func embedded(form string, v4 netip.Addr) string {
	if r := blockReason(v4); r != "" {
		return form + " address of " + v4.String() + ", which is " + r
	}
	return ""
}

func v4At(b [16]byte, i int) netip.Addr {
	return netip.AddrFrom4([4]byte(b[i : i+4]))
}

// An AllowRule lets the private-network guard connect to the addresses of
// a network, on any port or on one port. Build one with [ParseAllowRule];
// the zero AllowRule allows nothing.
type AllowRule struct {
	prefix netip.Prefix
	port   uint16
}

// ParseAllowRule parses an allow-list entry. The forms are:
//
//	10.0.0.0/8           a network, any port
//	127.0.0.1            one address (the same as 127.0.0.1/32)
//	::1/128, fd00::/8    IPv6 networks and addresses, without brackets
//	10.0.0.5/32:8080     a network or an address, one port
//	[::1]:8080           IPv6 with a port: always in brackets
//	[fd00::/8]:8080      an IPv6 network with a port
//
// A port is a decimal number from 1 to 65535. An IPv6 entry with a port
// must be in brackets, since "::1:8080" is itself an IPv6 address. A
// network must not have bits set past its length (10.1.0.0/8 is refused,
// not read as 10.0.0.0/8), and zones are refused. An IPv4-mapped entry
// (::ffff:10.0.0.0/104) is read as the IPv4 network it maps.
//
// The error starts with "webhook:" and matches [ErrInvalid].
func ParseAllowRule(s string) (AllowRule, error) {
	fail := func(format string, args ...any) (AllowRule, error) {
		return AllowRule{}, invalidf("allow rule %q: "+format, append([]any{truncate(s, 64)}, args...)...)
	}
	if s == "" {
		return fail("is empty; want a network such as 10.0.0.0/8 or an address, with an optional :port")
	}
	host, port, hasPort := s, "", false
	if rest, ok := strings.CutPrefix(s, "["); ok {
		inside, after, ok := strings.Cut(rest, "]")
		if !ok {
			return fail("has [ without ]")
		}
		host = inside
		if after != "" {
			if port, hasPort = strings.CutPrefix(after, ":"); !hasPort {
				return fail("has %q after ]; want ]:PORT", truncate(after, 16))
			}
		}
		if !strings.Contains(host, ":") {
			return fail("brackets are for IPv6 only; write an IPv4 rule as 10.0.0.5/32:8080")
		}
	} else if strings.Count(s, ":") == 1 {
		host, port, hasPort = strings.Cut(s, ":")
	}

	var r AllowRule
	if hasPort {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return fail("port %q is not a number from 1 to 65535", truncate(port, 16))
		}
		r.port = uint16(n)
	}

	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			return fail("not a network in CIDR form (10.0.0.0/8, fd00::/8): %v", err)
		}
		if p != p.Masked() {
			return fail("has bits set past /%d; did you mean %s?", p.Bits(), p.Masked())
		}
		r.prefix = p
	} else {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fail("not an IP address or a network in CIDR form: %v", err)
		}
		if a.Zone() != "" {
			return fail("zones are not allowed in allow rules")
		}
		r.prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if a := r.prefix.Addr(); a.Is4In6() && r.prefix.Bits() >= 96 {
		r.prefix = netip.PrefixFrom(a.Unmap(), r.prefix.Bits()-96)
	}
	return r, nil
}

// Prefix returns the network r allows.
func (r AllowRule) Prefix() netip.Prefix { return r.prefix }

// Port returns the one port r allows, or 0 when it allows every port.
func (r AllowRule) Port() uint16 { return r.port }

// Allows reports whether r lets the guard connect to ap. An IPv4-mapped
// address is matched as the IPv4 address it maps, and an address's zone
// is ignored: a rule for fe80::/10 allows fe80::1%eth0.
func (r AllowRule) Allows(ap netip.AddrPort) bool {
	if r.port != 0 && r.port != ap.Port() {
		return false
	}
	return r.prefix.Contains(ap.Addr().Unmap().WithZone(""))
}

// String returns r in the form ParseAllowRule reads: 10.0.0.0/8,
// 10.0.0.5/32:8080, ::1/128, [::1/128]:8080. The zero AllowRule is
// "invalid AllowRule".
func (r AllowRule) String() string {
	switch {
	case !r.prefix.IsValid():
		return "invalid AllowRule"
	case r.port == 0:
		return r.prefix.String()
	case r.prefix.Addr().Is6():
		return "[" + r.prefix.String() + "]:" + strconv.Itoa(int(r.port))
	default:
		return r.prefix.String() + ":" + strconv.Itoa(int(r.port))
	}
}

// MarshalText implements [encoding.TextMarshaler] with the form of String.
// The zero AllowRule marshals to an error.
func (r AllowRule) MarshalText() ([]byte, error) {
	if !r.prefix.IsValid() {
		return nil, invalidf("cannot marshal the zero AllowRule")
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParseAllowRule], so that an AllowRule can be read from JSON, a flag
// ([flag.TextVar]) or an environment variable.
func (r *AllowRule) UnmarshalText(text []byte) error {
	p, err := ParseAllowRule(string(text))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// A Guard is the private-network guard: it refuses to connect to any
// address that is not public (see [IsPublicAddr]) unless an allow rule
// lets it through. [HTTPTransport] checks every address it dials with one.
// A nil or zero Guard has no allow rules. A Guard is safe for concurrent
// use.
type Guard struct {
	allow []AllowRule
}

// NewGuard returns a Guard with the given allow rules.
func NewGuard(allow ...AllowRule) *Guard {
	return &Guard{allow: append([]AllowRule(nil), allow...)}
}

// Check returns nil when the guard lets a connection to ap through: ap's
// address is public, or an allow rule allows ap. Otherwise it returns an
// error that matches [ErrBlockedAddress] and says which address was
// refused and why, such as
//
//	webhook: 127.0.0.1:8080 is loopback (127.0.0.0/8): address blocked by private-network guard; allow it with an allow-list entry such as 127.0.0.1/32
func (g *Guard) Check(ap netip.AddrPort) error {
	a := ap.Addr()
	if !a.IsValid() {
		return fmt.Errorf("webhook: %w: no valid address to check", ErrBlockedAddress)
	}
	reason := blockReason(a)
	if reason == "" {
		return nil
	}
	if g != nil {
		for _, r := range g.allow {
			if r.Allows(ap) {
				return nil
			}
		}
	}
	return fmt.Errorf("webhook: %w", &blockedError{addr: ap, reason: reason})
}

// A blockedError is a refusal of the guard; its message has no "webhook:"
// prefix so that it reads well inside the Transport's errors.
type blockedError struct {
	addr   netip.AddrPort
	reason string
}

func (e *blockedError) Error() string {
	a := e.addr.Addr().Unmap().WithZone("")
	return fmt.Sprintf("%s is %s: %v; allow it with an allow-list entry such as %s",
		e.addr, e.reason, ErrBlockedAddress, netip.PrefixFrom(a, a.BitLen()))
}

func (e *blockedError) Unwrap() error { return ErrBlockedAddress }
