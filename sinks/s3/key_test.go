package s3

import (
	"regexp"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

func TestKeyExpand(t *testing.T) {
	for _, tc := range []struct {
		tmpl   string
		period int64
		want   string
	}{
		{"{stream}/{stream_id}/dt={date}/hour={hour}/min={minute}/{uuid}.x", 60, `^orders/s1/dt=2025-02-03/hour=04/min=05/U\.x$`},
		{"{hour}/{date}/{uuid}", 3600, `^04/2025-02-03/U$`},
		{"d={date}-{uuid}", 86400, `^d=2025-02-03-U$`},
		{"p/{uuid}", 0, `^p/U$`},
	} {
		k, err := parseKey(tc.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if k.period != tc.period {
			t.Errorf("%s: period %d, want %d", tc.tmpl, k.period, tc.period)
		}
		start := time.Date(2025, 2, 3, 4, 5, 0, 0, time.UTC).Unix()
		got := string(k.expand(nil, &sinks.Batch{Stream: "orders", StreamID: "s1"}, start))
		re := regexp.MustCompile(regexp.MustCompile(`U`).ReplaceAllString(tc.want, `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`))
		if !re.MatchString(got) {
			t.Errorf("%s: %q does not match %s", tc.tmpl, got, re)
		}
	}
	k, _ := parseKey("{uuid}")
	if a, b := k.expand(nil, &sinks.Batch{}, 0), k.expand(nil, &sinks.Batch{}, 0); string(a) == string(b) {
		t.Errorf("two uuids are equal: %s", a)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2025-02-12T14:32:15Z", "2025-02-12T14:32:15.123456789Z", "2025-02-12t14:32:15z",
		"2025-02-12 14:32:15Z", "2025-02-12T14:32:15+05:30", "2025-02-12T00:10:00-01:00",
		"1969-12-31T23:59:59Z", "2024-02-29T23:59:60Z",
	} {
		got, ok := parseTime(fieldpath.Value{Kind: fieldpath.String, Raw: []byte(`"` + s + `"`)})
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil { // the lower-case and space forms: parse them as their canonical one
			want, _ = time.Parse("2006-01-02 15:04:05Z07:00", s)
		}
		if s == "2025-02-12t14:32:15z" {
			want = time.Date(2025, 2, 12, 14, 32, 15, 0, time.UTC)
		}
		if s == "2024-02-29T23:59:60Z" {
			want = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) // a leap second rolls over
		}
		if !ok || got != want.Unix() {
			t.Errorf("%s: %d %v, want %d", s, got, ok, want.Unix())
		}
	}
	for _, raw := range []string{
		`"2025-02-12T14:32:15"`, `"2025-02-12T14:32:15.Z"`, `"2025-13-12T14:32:15Z"`, `"2025-02-12T24:00:00Z"`,
		`"2025-02-12X14:32:15Z"`, `"2025-02-12T14:32:15+5:30"`, `"2025-02-12T14:32:15+05:3x"`, `"yesterday"`, `""`,
		`"2025-02-12T14:32:15Z "`, `1739370735`,
	} {
		kind := fieldpath.String
		if raw[0] != '"' {
			kind = fieldpath.Number
		}
		if got, ok := parseTime(fieldpath.Value{Kind: kind, Raw: []byte(raw)}); ok {
			t.Errorf("%s: accepted as %d", raw, got)
		}
	}
}

func TestSplitFallback(t *testing.T) {
	p := newPartitioner(TimeTimestamp, 3600)
	data := []byte(`{"a":1}` + "\n" + `{"received_at":"2025-02-12T15:00:00Z"}` + "\n\n" + `{"timestamp":"2025-02-12T16:00:00Z"}`)
	fallback := time.Date(2025, 2, 12, 14, 30, 0, 0, time.UTC).Unix()
	lines, one := p.split(nil, data, fallback)
	h := func(hour int) int64 { return time.Date(2025, 2, 12, hour, 0, 0, 0, time.UTC).Unix() }
	want := []line{{0, 8, h(14)}, {8, 47, h(15)}, {47, 48, h(14)}, {48, 84, h(16)}}
	if one || len(lines) != len(want) {
		t.Fatalf("%v %v", lines, one)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
		}
	}
}
