package mask

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// findAll returns the text of every match of d in s, each search starting at the previous
// match's end, as Apply searches.
func findAll(t testing.TB, d Detector, s string) []string {
	t.Helper()
	var got []string
	b := []byte(s)
	for from := 0; ; {
		start, end, ok := d.Find(b, from)
		if !ok {
			return got
		}
		if start < from || end <= start || end > len(b) {
			t.Fatalf("Find(%q, %d) = [%d:%d], outside the contract", s, from, start, end)
		}
		got = append(got, s[start:end])
		from = end
	}
}

// detectorCase returns the house-style case function for the built-in detector name: the
// input, then the text of each match it must find (none for a near miss).
func detectorCase(t *testing.T, name string) func(in string, want ...string) {
	d, ok := Builtin(name)
	if !ok {
		t.Fatalf("Builtin(%q) is missing", name)
	}
	return func(in string, want ...string) {
		t.Helper()
		if got := findAll(t, d, in); !slices.Equal(got, want) {
			t.Errorf("%s in %q: found %q, want %q", name, in, got, want)
		}
	}
}

func TestBuiltinNames(t *testing.T) {
	want := []string{"aws_access_key", "bearer_token", "credit_card", "email", "ip", "ipv4", "ipv6",
		"jwt", "pem_private_key", "phone", "ssn"}
	if got := BuiltinNames(); !slices.Equal(got, want) {
		t.Fatalf("BuiltinNames() = %q, want %q", got, want)
	}
	for _, name := range want {
		if d, ok := Builtin(name); !ok || d == nil {
			t.Errorf("Builtin(%q) = %v, %v", name, d, ok)
		}
	}
	if d, ok := Builtin("passport"); ok || d != nil {
		t.Errorf("Builtin(passport) = %v, %v, want nothing", d, ok)
	}
}

func TestCreditCard(t *testing.T) {
	f := detectorCase(t, "credit_card")

	// Networks, in one run.
	f("4111111111111111", "4111111111111111")
	f("card=4242424242424242;", "4242424242424242")
	f("amex 378282246310005 ok", "378282246310005")
	f("mc 5555555555554444", "5555555555554444")
	f("mc2 2223003122003222", "2223003122003222")
	f("mc2 2221123456789014 and 2720123456789010", "2221123456789014", "2720123456789010")
	f("discover 6011111111111117", "6011111111111117")
	f("diners 30569309025904", "30569309025904")
	f("jcb 3530111333300000", "3530111333300000")
	f("visa13 4222222222222", "4222222222222")
	f("visa19 4111111111111111110", "4111111111111111110")

	// Grouped.
	f("card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111")
	f("card 4111-1111-1111-1111.", "4111-1111-1111-1111")
	f("amex 3782 822463 10005", "3782 822463 10005")
	f("amex 3782-822463-10005", "3782-822463-10005")
	f("two 4111111111111111,5555555555554444", "4111111111111111", "5555555555554444")
	f("after a rejected grouping 2024-4111-1111-1111-1111", "4111-1111-1111-1111")

	// Near misses: Luhn, prefix, length, grouping, glue.
	f("4111111111111112")
	f("order 1234567812345670")
	f("7111111111111114")
	f("2220123456789015")
	f("2721123456789019")
	f("411111111111")
	f("41111111111111111115")
	f("x4111111111111111")
	f("4111111111111111x")
	f("94111111111111111119")
	f("4111-1111 1111-1111")
	f("4111  1111 1111 1111")
	f("4111 11 1111 1111 1111")
	f("4111 1111111 1111 1111")
	f("4111 1111 1111 1111 1111")
	f("ts 20240115123045123")
	f("")
}

func TestEmail(t *testing.T) {
	f := detectorCase(t, "email")

	f("mail bob@example.com now", "bob@example.com")
	f("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk")
	f("email=bob@example.com&x=1", "bob@example.com")
	f("to: <Bob_O-Neil@mail-server.example.org>", "Bob_O-Neil@mail-server.example.org")
	f("'bob@example.com'", "bob@example.com")
	f("{bob@example.com}", "bob@example.com")
	f("reply to bob@example.com.", "bob@example.com")
	f("x@y.io", "x@y.io")
	f("a..b@example.com", "b@example.com")
	f(".bob@example.com", "bob@example.com")
	f("bob@example.com.42", "bob@example.com")
	f("bob@example.com@other.org", "bob@example.com")
	f("a@b.cd, c@d.ef", "a@b.cd", "c@d.ef")
	f("üser bob@example.com✓", "bob@example.com")

	f("bob@localhost")
	f("bob@example.c")
	f("bob@example.123")
	f("bob@example.c0m")
	f("@example.com")
	f("bob.@example.com")
	f("bob@-example.com")
	f("bob@example-.com")
	f("bob@example..com")
	f("bob@.example.com")
	f("user@[192.168.0.1]")
	f("foo @ bar.com")
	f("bob@" + strings.Repeat("a", 64) + ".com")
	f("@")
}

func TestSSN(t *testing.T) {
	f := detectorCase(t, "ssn")

	f("123-45-6789", "123-45-6789")
	f("ssn: 078-05-1120.", "078-05-1120")
	f("a123-45-6789b", "123-45-6789")
	f("665-01-0001 899-99-9999", "665-01-0001", "899-99-9999")

	f("000-12-3456")
	f("666-12-3456")
	f("900-12-3456")
	f("999-12-3456")
	f("123-00-4567")
	f("123-45-0000")
	f("1123-45-6789")
	f("123-45-67890")
	f("2024-123-45-6789")
	f("123-45-6789-1")
	f("123 45 6789")
	f("123456789")
	f("12-345-6789")
	f("123-4a-6789")
	f("123-45-678")
}

func TestIPv4(t *testing.T) {
	f := detectorCase(t, "ipv4")

	f("10.0.0.1", "10.0.0.1")
	f("ip=203.0.113.42,", "203.0.113.42")
	f("255.255.255.255 0.0.0.0", "255.255.255.255", "0.0.0.0")
	f("10.0.0.1:8080", "10.0.0.1")
	f("from 10.0.0.1.", "10.0.0.1")
	f("1.2.3.4/24", "1.2.3.4")
	f("[10.1.2.3]", "10.1.2.3")
	f("::ffff:192.0.2.1", "192.0.2.1")

	f("256.1.1.1")
	f("1.2.3.256")
	f("1.2.3.4.5")
	f("version 1.2.3.4.5 built")
	f("v1.2.3.4")
	f("01.2.3.4")
	f("1.2.3.04")
	f("1.2.3")
	f("1.2.3.")
	f("1.2.3.4a")
	f("1.2.3.1234")
	f("1..2.3.4")
	f("a-1.2.3.4")
}

func TestIPv6(t *testing.T) {
	f := detectorCase(t, "ipv6")

	f("2001:db8::1", "2001:db8::1")
	f("client 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")
	f("fe80::1%eth0", "fe80::1")
	f("[2001:db8::1]:443", "2001:db8::1")
	f("::1", "::1")
	f("1::", "1::")
	f("::ffff:192.0.2.1", "::ffff:192.0.2.1")
	f("ip:2001:db8::1", "2001:db8::1")
	f("from 2001:db8::1.", "2001:db8::1")
	f("at 2001:db8::1: timeout", "2001:db8::1")
	f("ip...fe80::1", "fe80::1")
	f("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7::")
	f("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:1.2.3.4")
	f("a 2001:db8::1, b fe80::2", "2001:db8::1", "fe80::2")

	f("12:30:45")
	f("2024-01-15T10:30:45.123Z")
	f("2024-01-15 10:30:45.123")
	f("mac 00:1a:2b:3c:4d:5e")
	f("std::vector")
	f("a :: b")
	f("2001:db8::1::2")
	f("1:2:3:4:5:6:7:8:9")
	f("1:2:3:4:5:6:7:8::")
	f("12345::1")
	f("::ffff:256.1.1.1")
	f("::ffff:1.2.3.4.5")
	f("1:2:3:4:5:6:7:1.2.3.4")
	f("2001:db8::1x")
	f("x2001:db8::1")
	f(":::1")
	f(":")
}

// TestValidIPv6 holds the hand-written validator to net/netip on the forms it accepts.
func TestValidIPv6(t *testing.T) {
	f := func(s string) {
		t.Helper()
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is6() && a.Zone() == "" && strings.ContainsAny(s, "0123456789abcdefABCDEF")
		if got := validIPv6([]byte(s)); got != want {
			t.Errorf("validIPv6(%q) = %v, netip says %v (%v)", s, got, want, err)
		}
	}
	f("::")
	f("::1")
	f("1::")
	f("1::2")
	f("1:2:3:4:5:6:7:8")
	f("1:2:3:4:5:6:7::")
	f("::2:3:4:5:6:7:8")
	f("1:2:3:4:5:6:7:8::")
	f("::1:2:3:4:5:6:7:8")
	f("1:2:3:4:5:6:7")
	f("1:2:3:4:5:6:7:8:9")
	f("1::2::3")
	f(":1::2")
	f("1::2:")
	f(":::")
	f("12345::")
	f("abcd:ef01::FFFF")
	f("::ffff:1.2.3.4")
	f("::1.2.3.4")
	f("1:2:3:4:5:6:1.2.3.4")
	f("1:2:3:4:5:6:7:1.2.3.4")
	f("::1.2.3.4:5")
	f("::1.2.3")
	f("::01.2.3.4")
	f("::256.2.3.4")
	f("::a.2.3.4")
	f("1.2.3.4")
	f("g::1")
	f("1g::")
	f("")
}

func TestIP(t *testing.T) {
	f := detectorCase(t, "ip")

	f("from 10.0.0.1 and 2001:db8::1 and 10.0.0.2", "10.0.0.1", "2001:db8::1", "10.0.0.2")
	f("::ffff:192.0.2.1 64:ff9b::192.0.2.1", "::ffff:192.0.2.1", "64:ff9b::192.0.2.1")
	f("port:10.0.0.1:8080 at 12:30:10.0.0.2", "10.0.0.1", "10.0.0.2")
	f("1.2.3.4.5 12:30:45")
}

// eitherIP is the reference for the ip detector: the earlier match of ipv4 and ipv6, the
// longer one on a tie.
func eitherIP(s []byte, from int) (int, int, bool) {
	s4, e4, ok4 := ipv4Detector{}.Find(s, from)
	s6, e6, ok6 := ipv6Detector{}.Find(s, from)
	if !ok6 || ok4 && (s4 < s6 || s4 == s6 && e4 >= e6) {
		return s4, e4, ok4
	}
	return s6, e6, true
}

type detectorFunc func(s []byte, from int) (int, int, bool)

func (f detectorFunc) Find(s []byte, from int) (int, int, bool) { return f(s, from) }

func TestIPMatchesParts(t *testing.T) {
	f := func(in string) {
		t.Helper()
		got, want := findAll(t, ipDetector{}, in), findAll(t, detectorFunc(eitherIP), in)
		if !slices.Equal(got, want) {
			t.Errorf("ip in %q: found %q, ipv4 and ipv6 find %q", in, got, want)
		}
	}
	f("10.0.0.1 2001:db8::1 ::ffff:10.0.0.2 1.2.3.4::1 port:10.0.0.3 ip:fe80::1 a1:10.0.0.4 x::1")
	f("1.1.1.1:1.1.1.1::1.1.1.1:::1.1.1.1 1::1.1.1.1.1 :1.2.3.4 12:30:45.1.2.3.4")
	f("v1.2.3.4:5 1.2.3.4.5:6::7 ::1.2.3.4: .::1. f::1:2.3.4.5 a:b:c:d:e:f:1.2.3.4")
}

func TestPhone(t *testing.T) {
	f := detectorCase(t, "phone")

	// North American.
	f("call (555) 123-4567 now", "(555) 123-4567")
	f("(555)123-4567", "(555)123-4567")
	f("555-123-4567", "555-123-4567")
	f("555.123.4567", "555.123.4567")
	f("555 123 4567", "555 123 4567")
	f("1-555-123-4567", "1-555-123-4567")
	f("1 (555) 123-4567", "1 (555) 123-4567")
	f("(555-123-4567)", "555-123-4567")
	f("555-123-4567 3 times", "555-123-4567")
	f("1234 555-123-4567", "555-123-4567")

	// International.
	f("+14155552671", "+14155552671")
	f("tel:+44 20 7946 0958.", "+44 20 7946 0958")
	f("+44 (0)20 7946 0958", "+44 (0)20 7946 0958")
	f("+1 (555) 123-4567", "+1 (555) 123-4567")
	f("+1-555-123-4567", "+1-555-123-4567")
	f("+33 1 23 45 67 89", "+33 1 23 45 67 89")
	f("+491234567890123", "+491234567890123")

	// National with a trunk 0.
	f("020 7946 0958", "020 7946 0958")
	f("(020) 7946 0958", "(020) 7946 0958")
	f("01 23 45 67 89", "01 23 45 67 89")
	f("06-12345678", "06-12345678")

	// Near misses.
	f("+1 555 1234")
	f("+1 5551234")
	f("+123456789")
	f("+1234567890123456")
	f("+(555) 123-4567")
	f("+12345 678")
	f("5551234567")
	f("ts 1700000000123")
	f("550e8400-e29b-41d4-a716-446655440000")
	f("12345678-1234-1234-1234-123456789012")
	f("2024-01-15")
	f("2024-01-15 10:30:45")
	f("192.168.100.200")
	f("555-123-45678")
	f("555-123-4567-89")
	f("555-123.4567")
	f("x555-123-4567")
	f("v1.555.123.4567")
	f("4111 1111 1111 1111")
	f("123-45-6789")
	f("(555 123-4567")
	f("020 7946 09")
	f("020 7946-0958")
	f("020 7946 0958 0958", "020 7946 0958")
	f("0 7946 0958 22")
	f("020 79460958123")
	f("(555) (123) 4567")
	f("1 2 3 4 5 6 7 8 9 0 1 2")
}

// A realistic token from jwt.io and its parts.
const (
	jwtHeader  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
	jwtPayload = "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
	jwtSig     = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	jwtToken   = jwtHeader + "." + jwtPayload + "." + jwtSig
)

func TestJWT(t *testing.T) {
	f := detectorCase(t, "jwt")

	f(jwtToken, jwtToken)
	f("token="+jwtToken+"; path=/", jwtToken)
	f("unsecured "+jwtHeader+"."+jwtPayload+". next", jwtHeader+"."+jwtPayload+".")
	jwe := jwtHeader + "." + jwtPayload + ".iv_iv_iv.ciphertext-x.tag"
	f("jwe "+jwe+" end", jwe)
	f(jwtToken+"."+jwtSig, jwtToken)
	f(jwtToken+" "+jwtToken, jwtToken, jwtToken)

	f(jwtHeader + ".notapayload." + jwtSig)
	f(jwtHeader + "." + jwtPayload)
	f("x" + jwtToken)
	f("eyJhbGci.eyJzdWIi.sig")
	f(jwtHeader + " " + jwtPayload + "." + jwtSig)
	f("eyJ")
}

func TestBearerToken(t *testing.T) {
	f := detectorCase(t, "bearer_token")

	f("Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz")
	f("auth=bearer  "+jwtToken+",", jwtToken)
	f("BEARER a.b_c~d+e/f=g-h0123456", "a.b_c~d+e/f=g-h0123456")
	f("Bearer abcdef0123456789 and Bearer 0123456789abcdefgh", "abcdef0123456789", "0123456789abcdefgh")

	f("Bearer short-token")
	f("Bearer: abcdef0123456789xyz")
	f("Bearerabcdef0123456789xyz")
	f("NotBearer abcdef0123456789xyz")
	f("Beaver abcdef0123456789xyz")
	f("Bearer  ")
	f("Bearer")
}

func TestAWSAccessKey(t *testing.T) {
	f := detectorCase(t, "aws_access_key")

	f("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")
	f("key=ASIAY34FZKBOKMUTVV7A;", "ASIAY34FZKBOKMUTVV7A")
	for _, prefix := range []string{"AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"} {
		f(prefix+"0123456789ABCDEF", prefix+"0123456789ABCDEF")
	}

	f("AKIAIOSFODNN7EXAMPL")
	f("AKIAIOSFODNN7EXAMPLE1")
	f("XAKIAIOSFODNN7EXAMPLE")
	f("AKIAiosfodnn7example")
	f("ABCDIOSFODNN7EXAMPLE")
	f("AKIA")
}

func TestPEMPrivateKey(t *testing.T) {
	f := detectorCase(t, "pem_private_key")

	rsa := "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"
	f("key: "+rsa+"\ntrailer", rsa)
	plain := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----"
	f(plain+plain, plain, plain)
	enc := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJ\n-----END ENCRYPTED PRIVATE KEY-----"
	f(enc, enc)
	cut := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v"
	f("truncated "+cut, cut)
	mismatched := "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END EC PRIVATE KEY-----\nmore"
	f(mismatched, mismatched)

	f("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----")
	f("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
	f("-----BEGIN rsa PRIVATE KEY-----\nMIIB")
	f("-----BEGIN PRIVATE KEY----\nMIIB")
	f("-----BEGIN ")
}

func TestPattern(t *testing.T) {
	f := func(expr, in string, want ...string) {
		t.Helper()
		d, err := Pattern(expr)
		if err != nil {
			t.Fatalf("Pattern(%q): %v", expr, err)
		}
		if got := findAll(t, d, in); !slices.Equal(got, want) {
			t.Errorf("Pattern(%q) in %q: found %q, want %q", expr, in, got, want)
		}
	}
	f(`ord_\d+`, "order ord_88412 then ord_7", "ord_88412", "ord_7")
	f(`(?i)secret=\S+`, "a SECRET=xyz b", "SECRET=xyz")
	f(`ord_\d+`, "no orders")
	// Empty matches at word boundaries are stepped over, also after multi-byte runes.
	f(`\bx*`, "ab é xx", "xx")
	f(`\bx*`, "")

	bad := func(expr, wantErr string) {
		t.Helper()
		d, err := Pattern(expr)
		if err == nil || d != nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Pattern(%q) = %v, %v; want an error with %q", expr, d, err, wantErr)
		}
	}
	bad(`(ord_\d+`, `pattern "(ord_\\d+": error parsing regexp: missing closing )`)
	bad(`a*`, `pattern "a*" matches the empty string`)
	bad(`x|`, `pattern "x|" matches the empty string`)
}

// TestFindFrom checks that a search from the middle of a string still sees what precedes it,
// so a match is never cut out of a longer run.
func TestFindFrom(t *testing.T) {
	f := func(name, s string, from int, want string) {
		t.Helper()
		d, _ := Builtin(name)
		start, end, ok := d.Find([]byte(s), from)
		got := ""
		if ok {
			got = s[start:end]
		}
		if got != want {
			t.Errorf("%s.Find(%q, %d) = %q, want %q", name, s, from, got, want)
		}
	}
	f("credit_card", "4111111111111111", 1, "")
	f("credit_card", "14111111111111111 4111111111111111", 1, "4111111111111111")
	f("ssn", "1123-45-6789", 1, "")
	f("ipv4", "1.10.0.0.1", 2, "")
	f("phone", "+14155552671", 1, "")
	f("aws_access_key", "XAKIAIOSFODNN7EXAMPLE", 1, "")
	f("jwt", "x"+jwtToken, 1, "")
	f("bearer_token", "xBearer abcdef0123456789", 1, "")
	// A local part or an address run is clipped at from rather than lost.
	f("email", "bob@example.com", 1, "ob@example.com")
	f("ipv6", "2001:db8::1", 1, "")
	f("ipv6", "x 2001:db8::1", 2, "2001:db8::1")
	for _, name := range BuiltinNames() {
		f(name, "4111111111111111 bob@example.com", 99, "")
	}
}

// TestNextDigit holds the eight-bytes-at-a-time digit search to a plain loop, on every byte
// value at every offset.
func TestNextDigit(t *testing.T) {
	for c := range 256 {
		for at := range 20 {
			s := bytes.Repeat([]byte{'x'}, 20)
			s[at] = byte(c)
			for from := range 21 {
				want := from
				for want < len(s) && !isDigit(s[want]) {
					want++
				}
				if got := nextDigit(s, from); got != want {
					t.Fatalf("byte %#x at %d, from %d: got %d, want %d", c, at, from, got, want)
				}
			}
		}
	}
}
