package s3

import (
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// FuzzParseTime: parseTime never panics, agrees with time.Parse wherever both accept, and
// accepts every time in the form time.Format writes. (time.Parse is laxer, taking one-digit
// hours for one; parseTime refuses those and the sink falls back to received_at.)
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-02-12T14:32:15Z", "2025-02-12T14:32:15.5+05:30", "2025-02-12T14:32:15-00:00", "0000-01-01T00:00:00Z", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime(fieldpath.Value{Kind: fieldpath.String, Raw: []byte(`"` + s + `"`)})
		want, err := time.Parse(time.RFC3339Nano, s)
		if err == nil && !ok && s == want.Format(time.RFC3339Nano) {
			t.Fatalf("%q: refused, time.Parse gives %v", s, want)
		}
		if err == nil && ok && got != want.Unix() {
			t.Fatalf("%q: %d, time.Parse gives %d", s, got, want.Unix())
		}
	})
}
