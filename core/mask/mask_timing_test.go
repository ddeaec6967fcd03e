package mask

import (
	"testing"
)

// go test -run '^$' -bench . -benchmem ./core/mask
// Expect 0 allocs/op everywhere except detector:regexp_email, the baseline: the e-mail
// detector's job done by a regular expression.

// logMessage is a realistic log line of about 200 bytes with a few things to mask.
const logMessage = `2025-02-12T14:32:15.123Z WARN checkout declined: user bob.smith@example.com ` +
	`card 4111 1111 1111 1111 from 203.0.113.42 phone +1 (555) 123-4567 ua="Mozilla/5.0 ` +
	`(X11; Linux x86_64)" retry=3 order=ord_88412`

// otherMessage holds one of each kind of match that logMessage lacks.
const otherMessage = `ssn 078-05-1120 from 2001:db8::7 auth failed for AKIAIOSFODNN7EXAMPLE with Bearer ` + jwtToken +
	` key -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----`

// countMatches scans all of s as Apply does and returns the number of matches.
func countMatches(d Detector, s []byte) int {
	n := 0
	for from := 0; ; n++ {
		_, end, ok := d.Find(s, from)
		if !ok {
			return n
		}
		from = end
	}
}

var sinkInt int

func BenchmarkDetect(b *testing.B) {
	in := []byte(logMessage)
	f := func(name string, d Detector) {
		b.Run("detector:"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				sinkInt = countMatches(d, in)
			}
		})
	}
	for _, name := range BuiltinNames() {
		f(name, builtin(b, name)[0])
	}
	f("regexp_email", pattern(b, `[A-Za-z0-9!#$%&*+/?^_~-]+(?:\.[A-Za-z0-9!#$%&*+/?^_~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}`))
}

var sinkBytes []byte

func BenchmarkApply(b *testing.B) {
	in := []byte(logMessage)
	f := func(o Options) {
		b.Run("mode:"+o.Mode.String(), func(b *testing.B) {
			m := newMasker(b, o)
			out, _ := m.Apply(nil, in)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				out, _ = m.Apply(out[:0], in)
			}
			sinkBytes = out
		})
	}
	dets := builtin(b, "credit_card", "email")
	f(Options{Detectors: dets, Mode: Redact})
	f(Options{Detectors: dets, Mode: Partial})
	f(Options{Detectors: dets, Mode: Hash, Key: testKey})
	f(Options{Detectors: dets, Mode: Remove})
}
