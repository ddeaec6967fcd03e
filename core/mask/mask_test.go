package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// builtin returns the named built-in detectors.
func builtin(t testing.TB, names ...string) []Detector {
	t.Helper()
	ds := make([]Detector, len(names))
	for k, name := range names {
		d, ok := Builtin(name)
		if !ok {
			t.Fatalf("no built-in detector %q", name)
		}
		ds[k] = d
	}
	return ds
}

func pattern(t testing.TB, expr string) Detector {
	t.Helper()
	d, err := Pattern(expr)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newMasker(t testing.TB, o Options) *Masker {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return m
}

// pseudonym is the Hash replacement of s under key, computed independently of the package.
func pseudonym(key []byte, s string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(s))
	return "hmac:" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// applyCase returns the house-style case function for m: the input, the output wanted and
// whether anything is masked. Each case runs twice on one Masker, behind a prefix in dst,
// to show that Apply appends and that its pooled state is reused cleanly.
func applyCase(t *testing.T, m *Masker) func(in, want string, changed bool) {
	return func(in, want string, changed bool) {
		t.Helper()
		for range 2 {
			out, ch := m.Apply([]byte("pre|"), []byte(in))
			if string(out) != "pre|"+want || ch != changed {
				t.Fatalf("Apply(%q) = %q, %v; want %q, %v", in, out, ch, "pre|"+want, changed)
			}
		}
	}
}

func TestParseMode(t *testing.T) {
	f := func(s string, want Mode, ok bool) {
		t.Helper()
		m, got := ParseMode(s)
		if m != want || got != ok {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, %v", s, m, got, want, ok)
		}
		if ok && m.String() != s {
			t.Errorf("%v.String() = %q, want %q", m, m.String(), s)
		}
	}
	f("redact", Redact, true)
	f("partial", Partial, true)
	f("hash", Hash, true)
	f("remove", Remove, true)
	f("Redact", 0, false)
	f("mask", 0, false)
	f("", 0, false)

	if s := Mode(7).String(); s != "Mode(7)" {
		t.Errorf("Mode(7).String() = %q", s)
	}
}

func TestNewErrors(t *testing.T) {
	f := func(o Options, want string) {
		t.Helper()
		m, err := New(o)
		if err == nil || m != nil || err.Error() != want {
			t.Errorf("New(%+v) = %v, %v; want the error %q", o, m, err, want)
		}
	}
	f(Options{Mode: 4}, "mask: unknown mode 4")
	f(Options{Detectors: []Detector{emailDetector{}, nil}}, "mask: detector 2 is nil")
	f(Options{Mode: Hash, Key: testKey, Replacement: "x"}, "mask: a replacement is only used by mode redact, not hash")
	f(Options{Replacement: "\xff"}, "mask: the replacement is not valid UTF-8")
	f(Options{Mode: Partial, KeepLast: -1}, "mask: keep_last is -1; it cannot be negative")
	f(Options{Mode: Redact, KeepLast: 2}, "mask: keep_last is only used by mode partial, not redact")
	f(Options{Mode: Hash}, "mask: mode hash needs a key")
	f(Options{Mode: Hash, Key: []byte("short key")}, "mask: the hash key has 9 bytes; at least 16 are needed")
	f(Options{Mode: Remove, Key: testKey}, "mask: a key is only used by mode hash, not remove")
}

func TestRedact(t *testing.T) {
	f := applyCase(t, newMasker(t, Options{Detectors: builtin(t, "credit_card", "email")}))
	f("mail bob@example.com now", "mail [REDACTED] now", true)
	f("bob@example.com", "[REDACTED]", true)
	f("card 4111 1111 1111 1111 and bob@example.com.", "card [REDACTED] and [REDACTED].", true)
	f("Zoë paid with 4111111111111111 ✓", "Zoë paid with [REDACTED] ✓", true)
	f("order 1234567812345670 for 10.0.0.1", "order 1234567812345670 for 10.0.0.1", false)
	f("", "", false)

	f = applyCase(t, newMasker(t, Options{Detectors: builtin(t, "email"), Replacement: "<email>"}))
	f("mail bob@example.com now", "mail <email> now", true)

	// Without detectors the whole value goes, even an empty one, whose emptiness is a fact too.
	f = applyCase(t, newMasker(t, Options{}))
	f("anything at all", "[REDACTED]", true)
	f("", "[REDACTED]", true)
}

func TestPartial(t *testing.T) {
	f := applyCase(t, newMasker(t, Options{Detectors: builtin(t, "credit_card"), Mode: Partial}))
	f("card 4111 1111 1111 1111 ok", "card ***************1111 ok", true)
	f("card 4111111111111111", "card ************1111", true)

	// Characters are runes: multi-byte ones are kept whole or become one '*'.
	f = applyCase(t, newMasker(t, Options{Mode: Partial}))
	f("Jöhn Dœ", "***n Dœ", true)
	f("日本語テキスト", "***テキスト", true)
	// A value no longer than what would be kept is masked whole.
	f("abcd", "****", true)
	f("é", "*", true)
	f("", "", true)
	// An invalid byte is one character and stays as it is when kept.
	f("ab\xffcde", "**\xffcde", true)

	f = applyCase(t, newMasker(t, Options{Mode: Partial, KeepLast: 2}))
	f("secret", "****et", true)
}

func TestHash(t *testing.T) {
	f := applyCase(t, newMasker(t, Options{Detectors: builtin(t, "credit_card", "email"), Mode: Hash, Key: testKey}))
	card, mail := pseudonym(testKey, "4111111111111111"), pseudonym(testKey, "bob@example.com")
	f("pay 4111111111111111 bob@example.com", "pay "+card+" "+mail, true)
	// The same value gives the same pseudonym in any context and any Masker with the key.
	f("bob@example.com wrote", mail+" wrote", true)
	g := applyCase(t, newMasker(t, Options{Detectors: builtin(t, "email"), Mode: Hash, Key: testKey}))
	g("to bob@example.com", "to "+mail, true)
	f("no match", "no match", false)

	// The pseudonym depends on the key and on every byte of the value.
	if out, _ := newMasker(t, Options{Mode: Hash, Key: []byte("another key of 16+ bytes")}).Apply(nil, []byte("bob@example.com")); string(out) == mail {
		t.Errorf("another key gives the same pseudonym %s", out)
	}
	if other := pseudonym(testKey, "bob@example.co"); other == mail || !strings.HasPrefix(other, "hmac:") || len(other) != 37 {
		t.Errorf("pseudonyms %s and %s", other, mail)
	}

	// The Masker keeps its own copy of the key.
	key := append([]byte(nil), testKey...)
	m := newMasker(t, Options{Mode: Hash, Key: key})
	key[0] ^= 1
	f = applyCase(t, m)
	f("bob@example.com", mail, true)
	f("", pseudonym(testKey, ""), true)
}

func TestRemove(t *testing.T) {
	f := applyCase(t, newMasker(t, Options{Detectors: builtin(t, "email", "phone"), Mode: Remove}))
	f("mail bob@example.com now", "mail  now", true)
	f("call 555-123-4567 or bob@example.com", "call  or ", true)
	f("nothing here", "nothing here", false)

	// Without detectors the caller removes the field: nothing is appended, and changed is true.
	f = applyCase(t, newMasker(t, Options{Mode: Remove}))
	f("anything", "", true)
}

// TestMerge checks that overlapping matches of several detectors become one masked part,
// whatever the order of the detectors, while parts that only touch stay apart.
func TestMerge(t *testing.T) {
	f := func(in, want string, ds ...Detector) {
		t.Helper()
		applyCase(t, newMasker(t, Options{Detectors: ds}))(in, want, true)
	}
	email, _ := Builtin("email")
	f("mail bob@example.com now", "mail [REDACTED]", email, pattern(t, `example\.com now`))
	f("mail bob@example.com now", "mail [REDACTED] now", pattern(t, `bob`), email)
	f("mail bob@example.com now", "[REDACTED] now", pattern(t, `mail bob`), email)
	f("mail bob@example.com now", "[REDACTED][REDACTED] now", pattern(t, `mail `), email)
	// A chain: c overlaps b, which overlaps a; c is only reached once b has grown the part.
	a, b, c := pattern(t, `aaaa bb`), pattern(t, `bbbb cc`), pattern(t, `cccc`)
	f("aaaa bbbb cccc dd", "[REDACTED] dd", c, a, b)
	f("aaaa bbbb cccc dd", "[REDACTED] dd", a, b, c)
	// One detector's several matches inside one part of another.
	f("x 1.2.3.4 5.6.7.8 y", "x [REDACTED] y", pattern(t, `\d[\d. ]+\d`), builtin(t, "ipv4")[0])

	// Hash pseudonymises the union once.
	m := newMasker(t, Options{Detectors: []Detector{email, pattern(t, `example\.com now`)}, Mode: Hash, Key: testKey})
	applyCase(t, m)("mail bob@example.com now", "mail "+pseudonym(testKey, "bob@example.com now"), true)
}

// badDetector breaks the Detector contract by matching nothing at from.
type badDetector struct{}

func (badDetector) Find(_ []byte, from int) (int, int, bool) { return from, from, true }

func TestApplyBadDetector(t *testing.T) {
	m := newMasker(t, Options{Detectors: []Detector{badDetector{}}})
	defer func() {
		want := "mask: detector mask.badDetector returned [0:0] searching 3 bytes from 0"
		if r := recover(); r != want {
			t.Fatalf("panic %v, want %q", r, want)
		}
	}()
	m.Apply(nil, []byte("abc"))
}

// TestConcurrentApply runs one Masker of each mode from several goroutines, for the race
// detector and to show that pooled state does not leak between calls.
func TestConcurrentApply(t *testing.T) {
	in := []byte("card 4111 1111 1111 1111, mail bob@example.com, ip 10.0.0.1")
	for _, mode := range []Mode{Redact, Partial, Hash, Remove} {
		o := Options{Detectors: builtin(t, "credit_card", "email", "ip"), Mode: mode}
		if mode == Hash {
			o.Key = testKey
		}
		m := newMasker(t, o)
		want, _ := m.Apply(nil, in)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				var out []byte
				for range 200 {
					if out, _ = m.Apply(out[:0], in); string(out) != string(want) {
						errs <- fmt.Errorf("%v: %q, want %q", mode, out, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
