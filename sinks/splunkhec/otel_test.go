package splunkhec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/realserver"
)

// otelRecord is one line of otelhec's output: a log record as the OpenTelemetry Collector's
// splunkhecreceiver made it from an envelope.
type otelRecord struct {
	Time       int64          `json:"time"` // Unix nanoseconds
	Body       map[string]any `json:"body"`
	Attributes map[string]any `json:"attributes"`
}

// TestOpenTelemetryHECReceiver sends batches through the sink, gzip and plain, with indexer
// acknowledgement, to the OpenTelemetry Collector's splunkhecreceiver itself (bin/tools/otelhec,
// built by `make deps`, runs the collector's receiver and ack extension: it stands for an OTel
// Collector taking HEC, a real HEC implementation besides Splunk's) and compares every record it
// decoded with what was sent: the event, the time to the millisecond, the envelope's
// host/source/sourcetype/index and the indexed fields.
func TestOpenTelemetryHECReceiver(t *testing.T) {
	bin, err := otelhecBinary()
	if err != nil {
		t.Fatalf("the OpenTelemetry HEC receiver is missing (%v); build it with `make deps` (.ci/test-deps)", err)
	}
	out := filepath.Join(t.TempDir(), "records.ndjson")
	addr := startOtelhec(t, bin, out)

	const perBatch = 50
	sent := 0
	for _, compression := range []string{CompressionNone, CompressionGzip} {
		o := NewOptions()
		o.URL, o.Token = "http://"+addr, "otel-does-not-check-tokens"
		o.Compression = compression
		o.Ack = Ack{Enabled: true, PollInterval: 20 * time.Millisecond, Timeout: 10 * time.Second}
		o.HostField, o.Source, o.Sourcetype, o.Index = "metadata.host", "ingestd", "_json", "payments"
		o.EventField = "event"
		o.Fields = map[string]string{"env": "metadata.env", "event_id": "event_id"}
		s := newSink(t, o)
		b := batchOf(perBatch)
		if err := s.WriteBatch(context.Background(), b); err != nil {
			t.Fatalf("%s: %v", compression, err)
		}
		sent += perBatch
	}

	// The receiver groups records by their resource (host, source, ...), so they are matched
	// to the events sent by the event_id indexed field, not by order.
	records := readRecords(t, out, sent)
	seen := map[int]int{}
	for i, r := range records {
		var n int
		id, _ := r.Attributes["event_id"].(string)
		if _, err := fmt.Sscanf(id, "0123456789abcdef0123456789abcdef-%d", &n); err != nil || n < 0 || n >= perBatch {
			t.Fatalf("record %d: event_id %q is none of the events sent", i, id)
		}
		seen[n]++
		if r.Body["transactionId"] != fmt.Sprintf("txn_%d", n) || r.Body["status"] != "declined" || r.Body["amount"] != 1234.5 {
			t.Errorf("record %d: body %v, want event %d", i, r.Body, n)
		}
		want := time.Date(2025, 2, 12, 14, 32, 15, (n%1000)*int(time.Millisecond), time.UTC).UnixNano()
		if math.Abs(float64(r.Time-want)) > float64(time.Millisecond) {
			t.Errorf("record %d: time %d, want %d", i, r.Time, want)
		}
		for key, want := range map[string]any{
			"host.name":             fmt.Sprintf("web-%d", n%3),
			"com.splunk.source":     "ingestd",
			"com.splunk.sourcetype": "_json",
			"com.splunk.index":      "payments",
			"env":                   "prod",
			"event_id":              fmt.Sprintf("0123456789abcdef0123456789abcdef-%d", n),
		} {
			if r.Attributes[key] != want {
				t.Errorf("record %d: attribute %s = %v, want %v", i, key, r.Attributes[key], want)
			}
		}
	}
	for n := range perBatch {
		if seen[n] != 2 {
			t.Errorf("event %d arrived %d times, want once per batch (2)", n, seen[n])
		}
	}
}

// otelhecBinary returns the path of the otelhec binary: $OTELHEC_BIN, or bin/tools/otelhec.
func otelhecBinary() (string, error) {
	bin := os.Getenv("OTELHEC_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "tools", "otelhec")
	}
	_, err := os.Stat(bin)
	return bin, err
}

// startOtelhec runs bin with indexer acknowledgement on a free loopback port, writing its
// records to out, until the test ends; it returns the address once the port accepts.
func startOtelhec(tb testing.TB, bin, out string) string {
	tb.Helper()
	addr := realserver.FreeAddr(tb)
	realserver.Start(tb, bin, []string{"-listen", addr, "-out", out, "-ack"}, func() bool { return realserver.Dials(addr) })
	return addr
}

// readRecords waits until out holds n records and decodes them in order.
func readRecords(t *testing.T, out string, n int) []otelRecord {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(out)
		if lines := bytes.Count(data, []byte("\n")); lines >= n || time.Now().After(deadline) {
			if lines != n {
				t.Fatalf("the receiver wrote %d records, want %d", lines, n)
			}
			var records []otelRecord
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var r otelRecord
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("record %q: %v", strings.TrimSpace(sc.Text()), err)
				}
				records = append(records, r)
			}
			return records
		}
		time.Sleep(20 * time.Millisecond)
	}
}
