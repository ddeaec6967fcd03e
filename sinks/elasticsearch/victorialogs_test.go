package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/benchwrite"
	"github.com/ingestd/ingestd/sinks/internal/realserver"
)

// victoriaLogsBin finds the VictoriaLogs binary: $VICTORIA_LOGS_BIN, or victoria-logs on PATH.
func victoriaLogsBin() (string, error) {
	if bin := os.Getenv("VICTORIA_LOGS_BIN"); bin != "" {
		return bin, nil
	}
	bin, err := exec.LookPath("victoria-logs")
	if err != nil {
		return "", errors.New("victoria-logs is not on PATH and VICTORIA_LOGS_BIN is unset; install it with: " +
			"go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1")
	}
	return bin, nil
}

// startVictoriaLogs runs a real VictoriaLogs on a free loopback port until the test ends and
// returns its base URL once it answers /health.
func startVictoriaLogs(tb testing.TB, bin string) string {
	tb.Helper()
	addr := realserver.FreeAddr(tb)
	base := "http://" + addr
	realserver.Start(tb, bin, []string{"-storageDataPath=" + tb.TempDir(), "-httpListenAddr=" + addr}, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// vlSink is a sink for VictoriaLogs' Elasticsearch bulk endpoint.
func vlSink(tb testing.TB, base, timeField string, edit func(*Options)) *Sink {
	tb.Helper()
	o := NewOptions()
	o.URLs = []string{base}
	o.Path = "/insert/elasticsearch/_bulk"
	o.Query = map[string]string{"_msg_field": "event.message", "_time_field": timeField}
	o.Compression = CompressionGzip
	edit(o)
	s, err := New("vl", o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// vlQuery runs a LogsQL query and returns the rows once there are at least n.
func vlQuery(t *testing.T, base, query string, n int) []map[string]string {
	var rows []map[string]string
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/select/logsql/query?query=" + url.QueryEscape(query))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		rows = rows[:0]
		dec := json.NewDecoder(resp.Body)
		for {
			var row map[string]string
			if dec.Decode(&row) != nil {
				break
			}
			rows = append(rows, row)
		}
		return len(rows) >= n
	})
	if len(rows) != n {
		t.Fatalf("%s: %d rows, want %d: %v", query, len(rows), n, rows)
	}
	return rows
}

// TestVictoriaLogs sends batches through the sink to a real VictoriaLogs (its Elasticsearch
// bulk endpoint) and reads them back with LogsQL: once with a plain index, and once in
// data_stream mode, whose added @timestamp VictoriaLogs takes as each row's time, which shows
// the member is appended as valid JSON in a form a real date parser reads.
func TestVictoriaLogs(t *testing.T) {
	bin, err := victoriaLogsBin()
	if err != nil {
		t.Fatal(err)
	}
	base := startVictoriaLogs(t, bin)
	// Recent timestamps: VictoriaLogs drops what is older than its retention (7 days).
	now := time.Now().UTC().Truncate(time.Second)

	t.Run("index", func(t *testing.T) {
		s := vlSink(t, base, "timestamp", func(o *Options) { o.Action = ActionCreate })
		const n = 25
		var data bytes.Buffer
		for i := range n {
			fmt.Fprintf(&data, `{"timestamp":%q,"source":"payments-app","event":{"transactionId":"txn_%d","message":"msg %d"},"stream_id":"s1","received_at":%q}`+"\n",
				now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i, i, now.Format(time.RFC3339Nano))
		}
		if err := s.WriteBatch(context.Background(), &sinks.Batch{Stream: "pay", StreamID: "s1", Data: data.Bytes(), Events: n}); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range vlQuery(t, base, "source:payments-app", n) {
			if r["event.transactionId"] == "txn_7" {
				found = true
				if r["_msg"] != "msg 7" || !strings.HasPrefix(r["_time"], now.Add(7*time.Second).Format("2006-01-02T15:04:05")) {
					t.Errorf("row %v", r)
				}
			}
		}
		if !found {
			t.Error("no row for txn_7")
		}
	})

	t.Run("data_stream", func(t *testing.T) {
		s := vlSink(t, base, "@timestamp", func(o *Options) { o.DataStream = &DataStream{} })
		// ingestd keeps a client's timestamp as sent: a zone offset, a lower-case t and more
		// fractional digits than nanoseconds are all valid, and normalized for the cluster.
		at := now.Add(-time.Hour).In(time.FixedZone("", 2*3600))
		var data bytes.Buffer
		for i := range 3 {
			ts := strings.Replace(at.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05.000000000000-07:00"), "T", "t", 1)
			fmt.Fprintf(&data, `{"timestamp":%q,"source":"ds-app","event":{"n":%d,"message":"ds %d"},"stream_id":"s1","received_at":%q}`+"\n",
				ts, i, i, now.Format(time.RFC3339Nano))
		}
		if err := s.WriteBatch(context.Background(), &sinks.Batch{Stream: "ds", StreamID: "s1", Data: data.Bytes(), Events: 3}); err != nil {
			t.Fatal(err)
		}
		for _, r := range vlQuery(t, base, "source:ds-app", 3) {
			n, _ := strconv.Atoi(r["event.n"])
			got, err := time.Parse(time.RFC3339Nano, r["_time"])
			if want := at.Add(time.Duration(n) * time.Second); err != nil || !got.Equal(want) || r["timestamp"] == "" {
				t.Errorf("row %v: _time %v, want %v (%v)", r, got, want.UTC(), err)
			}
		}
	})
}

// BenchmarkVictoriaLogs delivers batches of 1000 stored events to a real VictoriaLogs through
// its Elasticsearch bulk endpoint, and checks afterwards that it ingested every one.
func BenchmarkVictoriaLogs(b *testing.B) {
	bin, err := victoriaLogsBin()
	if err != nil {
		b.Skip(err)
	}
	base := startVictoriaLogs(b, bin)
	const events = 1000
	// Recent timestamps: VictoriaLogs drops what is older than its retention (7 days).
	now := time.Now().UTC()
	var data bytes.Buffer
	for i := range events {
		fmt.Fprintf(&data, `{"timestamp":%q,"source":"payments-app","event":{"transactionId":"txn_%d","status":"approved","latency_ms":%d,"amount":499,"currency":"USD","message":"payment %d approved"},"metadata":{"env":"prod","team":"payments"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":%q,"event_id":"5d1f0c2a9e7b4418000000000000a0f2-%d"}`+"\n",
			now.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, 100+i%400, i, now.Format(time.RFC3339Nano), i)
	}
	batch := &sinks.Batch{Stream: "payments", StreamID: "a0c3b4de-1923-4ff1-8dba-f92ad912d20f", Data: data.Bytes(), Events: events, ReceivedAt: now.UnixNano()}
	sent := 0
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		b.Run(comp, func(b *testing.B) {
			s := vlSink(b, base, "timestamp", func(o *Options) { o.Compression = comp })
			benchwrite.Run(b, s, batch, nil)
			sent += b.N * events
			waitFor(b, func() bool { return vlIngested(b, base) == sent })
		})
	}
}

var ingestedMetric = regexp.MustCompile(`(?m)^vl_rows_ingested_total\{type="elasticsearch_bulk"\} (\d+)$`)

// vlIngested reads how many rows VictoriaLogs took through its Elasticsearch bulk endpoint.
func vlIngested(tb testing.TB, base string) int {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := ingestedMetric.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func waitFor(tb testing.TB, ok func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	if !ok() {
		tb.Fatal("condition not met within 5s")
	}
}
