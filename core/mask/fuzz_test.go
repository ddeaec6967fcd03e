package mask

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// go test ./core/mask -run '^$' -fuzz FuzzApply -fuzztime 30s
// The seed corpus lives in testdata/fuzz/FuzzApply beside the seeds added here.

func FuzzApply(f *testing.F) {
	for _, s := range []string{
		logMessage,
		otherMessage,
		"mail bob@example.com now",
		"a..b@x.io @ c@d.ef.42",
		"4111 1111 1111 1111 3782-822463-10005 2223003122003222",
		"123-45-6789 666-12-3456 2024-123-45-6789",
		"1.2.3.4.5 v1.2.3.4 10.0.0.1:80 ::ffff:10.0.0.1 [fe80::1%eth0] ip:2001:db8::1.",
		"+44 (0)20 7946 0958, (555) 123-4567 x 1-555-123-4567 3",
		"Bearer abcdefghijklmnop eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIB",
		"Zoë ✓ 日本 \xff\xfe 4111111111111111",
		"",
	} {
		f.Add([]byte(s))
	}

	dets := make(map[string]Detector)
	for _, name := range BuiltinNames() {
		dets[name], _ = Builtin(name)
	}
	all := builtin(f, BuiltinNames()...)
	modes := []Mode{Redact, Partial, Hash, Remove}
	with, whole := make([]*Masker, len(modes)), make([]*Masker, len(modes))
	for k, mode := range modes {
		o := Options{Mode: mode}
		if mode == Hash {
			o.Key = testKey
		}
		whole[k] = newMasker(f, o)
		o.Detectors = all
		with[k] = newMasker(f, o)
	}

	f.Fuzz(func(t *testing.T, s []byte) {
		matched := false
		for name, d := range dets {
			for from := 0; ; {
				start, end, ok := d.Find(s, from)
				if !ok {
					break
				}
				if start < from || end <= start || end > len(s) {
					t.Fatalf("%s.Find(%q, %d) = [%d:%d]", name, s, from, start, end)
				}
				checkMatch(t, name, s[start:end])
				matched, from = true, end
			}
		}
		ipAll, ipParts := findAll(t, ipDetector{}, string(s)), findAll(t, detectorFunc(eitherIP), string(s))
		if !slices.Equal(ipAll, ipParts) {
			t.Fatalf("ip in %q: found %q, ipv4 and ipv6 find %q", s, ipAll, ipParts)
		}
		valid := utf8.Valid(s)
		for k, mode := range modes {
			out, changed := with[k].Apply([]byte("pre|"), s)
			if !bytes.HasPrefix(out, []byte("pre|")) {
				t.Fatalf("%v: Apply(%q) dropped dst: %q", mode, s, out)
			}
			out = out[len("pre|"):]
			if changed != matched || !changed && !bytes.Equal(out, s) {
				t.Fatalf("%v: Apply(%q) = %q, %v; detectors matched: %v", mode, s, out, changed, matched)
			}
			if valid && !utf8.Valid(out) {
				t.Fatalf("%v: Apply(%q) = %q, invalid UTF-8", mode, s, out)
			}
			if again, _ := with[k].Apply(nil, s); !bytes.Equal(again, out) {
				t.Fatalf("%v: Apply(%q) gave %q, then %q", mode, s, out, again)
			}

			out, changed = whole[k].Apply(nil, s)
			if !changed {
				t.Fatalf("%v without detectors: Apply(%q) changed nothing", mode, s)
			}
			switch mode {
			case Redact:
				if string(out) != DefaultReplacement {
					t.Fatalf("redact: Apply(%q) = %q", s, out)
				}
			case Partial:
				if n := utf8.RuneCount(s); utf8.RuneCount(out) != n || n > DefaultKeepLast && !bytes.HasSuffix(s, bytes.TrimLeft(out, "*")) {
					t.Fatalf("partial: Apply(%q) = %q", s, out)
				}
			case Hash:
				if len(out) != 37 || !strings.HasPrefix(string(out), "hmac:") {
					t.Fatalf("hash: Apply(%q) = %q", s, out)
				}
			case Remove:
				if len(out) != 0 {
					t.Fatalf("remove: Apply(%q) = %q", s, out)
				}
			}
		}
	})
}

// checkMatch holds a detector's match to what an independent check says about it.
func checkMatch(t *testing.T, name string, m []byte) {
	t.Helper()
	if m[0] >= utf8.RuneSelf || m[len(m)-1] >= utf8.RuneSelf && name != "pem_private_key" {
		t.Fatalf("%s: match %q does not begin and end on ASCII", name, m)
	}
	switch name {
	case "ipv4", "ipv6":
		a, err := netip.ParseAddr(string(m))
		if err != nil || a.Is4() != (name == "ipv4") {
			t.Fatalf("%s: match %q: netip says %v, %v", name, m, a, err)
		}
	case "credit_card":
		if !luhn(m) {
			t.Fatalf("credit_card: match %q fails Luhn", m)
		}
	}
}
