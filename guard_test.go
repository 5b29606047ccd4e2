package webhook_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func TestIsPublicAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr   string
		public bool
		why    string // a word of the guard's reason, for blocked ones
	}{
		// IPv4, blocked.
		{"0.0.0.0", false, "unspecified"},
		{"0.1.2.3", false, "this network"},
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback"},
		{"10.1.2.3", false, "private"},
		{"172.16.0.1", false, "private"},
		{"172.31.255.255", false, "private"},
		{"192.168.1.1", false, "private"},
		{"169.254.0.1", false, "link-local"},
		{"169.254.169.254", false, "link-local"},
		{"100.64.0.1", false, "carrier-grade NAT"},
		{"100.127.255.255", false, "carrier-grade NAT"},
		{"192.0.0.8", false, "IETF"},
		{"192.0.2.1", false, "documentation"},
		{"198.51.100.7", false, "documentation"},
		{"203.0.113.9", false, "documentation"},
		{"192.88.99.1", false, "6to4 relay"},
		{"198.18.0.1", false, "benchmarking"},
		{"198.19.255.255", false, "benchmarking"},
		{"224.0.0.1", false, "multicast"},
		{"239.255.255.250", false, "multicast"},
		{"240.0.0.1", false, "reserved"},
		{"255.255.255.255", false, "broadcast"},

		// IPv4, allowed.
		{"8.8.8.8", true, ""},
		{"1.1.1.1", true, ""},
		{"172.15.255.255", true, ""},
		{"172.32.0.0", true, ""},
		{"100.63.255.255", true, ""},
		{"100.128.0.0", true, ""},
		{"198.20.0.0", true, ""},
		{"223.255.255.255", true, ""},
		{"192.0.3.1", true, ""},

		// IPv6, blocked.
		{"::", false, "unspecified"},
		{"::1", false, "loopback"},
		{"fe80::1", false, "link-local"},
		{"febf:ffff::1", false, "link-local"},
		{"fec0::1", false, "site-local"},
		{"fc00::1", false, "unique local"},
		{"fd00::1", false, "unique local"},
		{"ff02::1", false, "multicast"},
		{"ff0e::1", false, "multicast"},
		{"100::1", false, "discard"},
		{"2001::1", false, "Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "Teredo"},
		{"2001:2::1", false, "benchmarking"},
		{"2001:10::1", false, "ORCHID"},
		{"2001:20::1", false, "ORCHIDv2"},
		{"2001:100::1", false, "IETF"},
		{"2001:db8::1", false, "documentation"},
		{"3fff::1", false, "documentation"},
		{"5f00::1", false, "outside"},
		{"4000::1", false, "outside"},
		{"::2:0:0:1", false, "outside"},
		{"fe80::1%eth0", false, "zone"},
		{"2606:4700:4700::1111%eth0", false, "zone"},

		// IPv6 forms embedding an IPv4 address, blocked.
		{"::ffff:127.0.0.1", false, "loopback"},
		{"::ffff:10.0.0.1", false, "private"},
		{"::ffff:169.254.169.254", false, "link-local"},
		{"::ffff:0.0.0.0", false, "unspecified"},
		{"::127.0.0.1", false, "loopback"},
		{"::10.0.0.1", false, "private"},
		{"::8.8.8.8", false, "IPv4-compatible"},
		{"64:ff9b::a00:1", false, "private"},
		{"64:ff9b::127.0.0.1", false, "loopback"},
		{"64:ff9b::169.254.169.254", false, "link-local"},
		{"64:ff9b:1::a00:1", false, "private"},
		{"64:ff9b:1:1::808:808", false, "layout"},
		{"2002:a00:1::", false, "private"},
		{"2002:7f00:1::1", false, "loopback"},
		{"2002:a9fe:a9fe::", false, "link-local"},
		{"2002:c0a8:101::", false, "private"},

		// IPv6, allowed.
		{"2606:4700:4700::1111", true, ""},
		{"2001:4860:4860::8888", true, ""},
		{"2a00:1450:4001:80b::200e", true, ""},
		{"3ffe::1", true, ""},
		{"2001:200::1", true, ""},
		{"::ffff:8.8.8.8", true, ""},
		{"64:ff9b::808:808", true, ""},
		{"64:ff9b:1::808:808", true, ""},
		{"2002:808:808::", true, ""},
		{"2002:808:808:1::1", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			a := netip.MustParseAddr(tt.addr)
			require.Equal(t, tt.public, webhook.IsPublicAddr(a))

			err := webhook.NewGuard().Check(netip.AddrPortFrom(a, 443))
			if tt.public {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, webhook.ErrBlockedAddress)
			require.Contains(t, err.Error(), tt.why)
		})
	}
}

func TestIsPublicAddrZero(t *testing.T) {
	t.Parallel()
	require.False(t, webhook.IsPublicAddr(netip.Addr{}))
	require.ErrorIs(t, webhook.NewGuard().Check(netip.AddrPort{}), webhook.ErrBlockedAddress)
}

func TestGuardCheckMessage(t *testing.T) {
	t.Parallel()
	err := webhook.NewGuard().Check(netip.MustParseAddrPort("127.0.0.1:8080"))
	require.EqualError(t, err, "webhook: 127.0.0.1:8080 is loopback (127.0.0.0/8): "+
		"address blocked by private-network guard; allow it with an allow-list entry such as 127.0.0.1/32")

	err = webhook.NewGuard().Check(netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"))
	require.EqualError(t, err, "webhook: [::ffff:10.0.0.1]:80 is IPv4-mapped address of 10.0.0.1, "+
		"which is private (10.0.0.0/8): address blocked by private-network guard; "+
		"allow it with an allow-list entry such as 10.0.0.1/32")

	err = webhook.NewGuard().Check(netip.MustParseAddrPort("[fe80::1%eth0]:80"))
	require.ErrorIs(t, err, webhook.ErrBlockedAddress)
	require.Contains(t, err.Error(), "such as fe80::1/128")
}

func TestGuardCheckAllowList(t *testing.T) {
	t.Parallel()
	var nilGuard *webhook.Guard
	require.ErrorIs(t, nilGuard.Check(netip.MustParseAddrPort("10.0.0.1:80")), webhook.ErrBlockedAddress)
	require.NoError(t, nilGuard.Check(netip.MustParseAddrPort("8.8.8.8:80")))
	var zeroGuard webhook.Guard
	require.ErrorIs(t, zeroGuard.Check(netip.MustParseAddrPort("10.0.0.1:80")), webhook.ErrBlockedAddress)

	g := webhook.NewGuard(
		guardRule(t, "10.0.0.0/8"),
		guardRule(t, "192.168.1.10:8080"),
		guardRule(t, "[::1]:9000"),
		guardRule(t, "fe80::/10"),
	)
	tests := []struct {
		addr string
		ok   bool
	}{
		{"10.0.0.1:80", true},
		{"10.255.255.255:1", true},
		{"[::ffff:10.1.2.3]:443", true},
		{"11.0.0.1:80", true}, // public anyway
		{"192.168.1.10:8080", true},
		{"192.168.1.10:8081", false},
		{"192.168.1.11:8080", false},
		{"127.0.0.1:80", false},
		{"[::1]:9000", true},
		{"[::1]:9001", false},
		{"[fe80::1%eth0]:80", true},
		{"[fd00::1]:80", false},
		{"[64:ff9b::a00:1]:80", false}, // 10.0.0.1 via NAT64 is not the rule's 10.0.0.0/8
	}
	for _, tt := range tests {
		err := g.Check(netip.MustParseAddrPort(tt.addr))
		if tt.ok {
			require.NoError(t, err, tt.addr)
		} else {
			require.ErrorIs(t, err, webhook.ErrBlockedAddress, tt.addr)
		}
	}
}

func TestNewGuardCopiesRules(t *testing.T) {
	t.Parallel()
	rules := []webhook.AllowRule{guardRule(t, "10.0.0.0/8")}
	g := webhook.NewGuard(rules...)
	rules[0] = guardRule(t, "192.168.0.0/16")
	require.NoError(t, g.Check(netip.MustParseAddrPort("10.0.0.1:80")))
	require.Error(t, g.Check(netip.MustParseAddrPort("192.168.0.1:80")))
}

func guardRule(t testing.TB, s string) webhook.AllowRule {
	t.Helper()
	r, err := webhook.ParseAllowRule(s)
	require.NoError(t, err)
	return r
}

func TestParseAllowRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		prefix string
		port   uint16
		str    string
	}{
		{"10.0.0.0/8", "10.0.0.0/8", 0, "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0", 0, "0.0.0.0/0"},
		{"127.0.0.1", "127.0.0.1/32", 0, "127.0.0.1/32"},
		{"127.0.0.1/32", "127.0.0.1/32", 0, "127.0.0.1/32"},
		{"::1/128", "::1/128", 0, "::1/128"},
		{"::1", "::1/128", 0, "::1/128"},
		{"fd00::/8", "fd00::/8", 0, "fd00::/8"},
		{"::/0", "::/0", 0, "::/0"},
		{"::1:8080", "::1:8080/128", 0, "::1:8080/128"}, // an address, not a port
		{"10.0.0.5/32:8080", "10.0.0.5/32", 8080, "10.0.0.5/32:8080"},
		{"10.0.0.5:8080", "10.0.0.5/32", 8080, "10.0.0.5/32:8080"},
		{"10.0.0.0/8:1", "10.0.0.0/8", 1, "10.0.0.0/8:1"},
		{"10.0.0.0/8:65535", "10.0.0.0/8", 65535, "10.0.0.0/8:65535"},
		{"[::1/128]:8080", "::1/128", 8080, "[::1/128]:8080"},
		{"[::1]:8080", "::1/128", 8080, "[::1/128]:8080"},
		{"[fd00::/8]:443", "fd00::/8", 443, "[fd00::/8]:443"},
		{"[::1]", "::1/128", 0, "::1/128"},
		{"[fd00::/8]", "fd00::/8", 0, "fd00::/8"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", 0, "10.0.0.0/8"},
		{"::ffff:127.0.0.1", "127.0.0.1/32", 0, "127.0.0.1/32"},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1/32", 80, "127.0.0.1/32:80"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := webhook.ParseAllowRule(tt.in)
			require.NoError(t, err)
			require.Equal(t, netip.MustParsePrefix(tt.prefix), r.Prefix())
			require.Equal(t, tt.port, r.Port())
			require.Equal(t, tt.str, r.String())

			again, err := webhook.ParseAllowRule(r.String())
			require.NoError(t, err)
			require.Equal(t, r, again)
		})
	}
}

func TestParseAllowRuleInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"", "is empty"},
		{" 10.0.0.0/8", "not a network"},
		{"10.0.0.0/8 ", "not a network"},
		{"example.tld", "not an IP address"},
		{"localhost:8080", "not an IP address"},
		{"10.0.0.0/33", "not a network"},
		{"::1/129", "not a network"},
		{"10.0.0.0/", "not a network"},
		{"10.0.0.0/-1", "not a network"},
		{"10.1.0.0/8", "did you mean 10.0.0.0/8?"},
		{"fd00::1/8", "did you mean fd00::/8?"},
		{"10.0.0.1:0", "port"},
		{"10.0.0.1:65536", "port"},
		{"10.0.0.1:", "port"},
		{"10.0.0.1:http", "port"},
		{"10.0.0.1:+80", "port"},
		{"10.0.0.1:-80", "port"},
		{"[::1]:", "port"},
		{"[::1]:0", "port"},
		{"[::1]8080", "after ]"},
		{"[::1", "without ]"},
		{"[10.0.0.1]:80", "brackets are for IPv6 only"},
		{"[10.0.0.0/8]", "brackets are for IPv6 only"},
		{"fe80::1%eth0", "zones"},
		{"[fe80::1%eth0]:80", "zones"},
		{"fe80::%eth0/64", "not a network"},
		{"10.0.0.0/8:80:80", "not a network"},
		{"[::1]:80:80", "port"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := webhook.ParseAllowRule(tt.in)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: allow rule "), err.Error())
			require.Contains(t, err.Error(), tt.want)
			require.Equal(t, webhook.AllowRule{}, r)
		})
	}
}

func TestAllowRuleAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule string
		addr string
		want bool
	}{
		{"127.0.0.0/8", "127.0.0.1:80", true},
		{"127.0.0.0/8", "127.1.2.3:65535", true},
		{"127.0.0.0/8", "128.0.0.1:80", false},
		{"127.0.0.0/8", "[::1]:80", false},
		{"127.0.0.0/8", "[::ffff:127.0.0.1]:80", true},
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{"::1", "[::1]:1", true},
		{"::1", "127.0.0.1:1", false},
		{"[::1]:8080", "[::1]:8080", true},
		{"[::1]:8080", "[::1]:80", false},
		{"fe80::/10", "[fe80::1%eth0]:80", true},
		{"::/0", "[fd00::1]:80", true},
		{"::/0", "10.0.0.1:80", false},
		{"0.0.0.0/0", "10.0.0.1:80", true},
	}
	for _, tt := range tests {
		r := guardRule(t, tt.rule)
		require.Equal(t, tt.want, r.Allows(netip.MustParseAddrPort(tt.addr)), "%s allows %s", tt.rule, tt.addr)
	}
	require.False(t, webhook.AllowRule{}.Allows(netip.MustParseAddrPort("10.0.0.1:80")))
	require.Equal(t, "invalid AllowRule", webhook.AllowRule{}.String())
}

func TestAllowRuleText(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Allow []webhook.AllowRule `json:"allow"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"allow": ["10.0.0.0/8", "[::1]:8080"]}`), &cfg))
	require.Equal(t, []webhook.AllowRule{guardRule(t, "10.0.0.0/8"), guardRule(t, "[::1/128]:8080")}, cfg.Allow)

	out, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.JSONEq(t, `{"allow": ["10.0.0.0/8", "[::1/128]:8080"]}`, string(out))

	err = json.Unmarshal([]byte(`{"allow": ["10.0.0.0/33"]}`), &cfg)
	require.ErrorIs(t, err, webhook.ErrInvalid)

	_, err = json.Marshal(webhook.AllowRule{})
	require.Error(t, err)
	require.True(t, errors.Is(err, webhook.ErrInvalid))
}
