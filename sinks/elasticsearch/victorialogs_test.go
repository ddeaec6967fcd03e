package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// TestVictoriaLogs sends batches through the sink to a real VictoriaLogs (its Elasticsearch
// bulk endpoint) and reads them back with LogsQL.
func TestVictoriaLogs(t *testing.T) {
	bin := os.Getenv("VICTORIA_LOGS_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("victoria-logs"); err != nil {
			t.Fatal("victoria-logs is not on PATH and VICTORIA_LOGS_BIN is unset; install it with: " +
				"go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var log bytes.Buffer
	cmd := exec.Command(bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("victoria-logs output:\n%s", log.String())
		}
	})
	base := "http://" + addr
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	s := newSink(t, func(o *Options) {
		o.URLs = []string{base}
		o.Path = "/insert/elasticsearch/_bulk"
		o.Query = map[string]string{"_msg_field": "event.message", "_time_field": "timestamp"}
		o.Compression = CompressionGzip
		o.Action = ActionCreate
	})
	// Recent timestamps: VictoriaLogs drops what is older than its retention (7 days).
	now := time.Now().UTC().Truncate(time.Second)
	const n = 25
	var data bytes.Buffer
	for i := range n {
		fmt.Fprintf(&data, `{"timestamp":%q,"source":"payments-app","event":{"transactionId":"txn_%d","message":"msg %d"},"stream_id":"s1","received_at":%q}`+"\n",
			now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i, i, now.Format(time.RFC3339Nano))
	}
	if err := s.WriteBatch(context.Background(), &sinks.Batch{Stream: "pay", StreamID: "s1", Data: data.Bytes(), Events: n}); err != nil {
		t.Fatal(err)
	}

	var rows []map[string]string
	waitFor(t, func() bool {
		resp, err := http.Get(base + "/select/logsql/query?query=*")
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
		t.Fatalf("%d rows, want %d: %v", len(rows), n, rows)
	}
	found := false
	for _, r := range rows {
		if r["event.transactionId"] == "txn_7" {
			found = true
			if r["_msg"] != "msg 7" || r["source"] != "payments-app" || !strings.HasPrefix(r["_time"], now.Add(7*time.Second).Format("2006-01-02T15:04:05")) {
				t.Errorf("row %v", r)
			}
		}
	}
	if !found {
		t.Errorf("no row for txn_7 in %v", rows)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	if !ok() {
		t.Fatal("condition not met within 5s")
	}
}
