package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
)

// routedEngine starts an engine whose stream filters health checks and routes by condition
// and by key sampling to the memory sinks siem, archive and lake.
func routedEngine(t *testing.T) (*testEngine, map[string]*memSink) {
	t.Helper()
	mem := map[string]*memSink{}
	ids := map[string]string{}
	for _, n := range []string{"siem", "archive", "lake"} {
		ids[n], mem[n] = newMem(t)
	}
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: memory}
tokens:
  - {name: star, token: %q, streams: ["*"]}
streams:
  - id: %q
    name: payments
    processors:
      - {type: filter, when: 'event.status == "health"', reason: health}
    routes:
      - {name: big-declines, when: 'event.status == "declined" && event.amount > 1000', to: [siem], final: true}
      - {name: eu, when: 'metadata.region in ["eu-west-1", "eu-central-1"]', to: [lake, archive]}
      - {name: half, sample: {rate: 0.5, key: event.transactionId}, to: [lake]}
    default: [archive]
sinks:
  - {name: siem, type: memory, id: %q, batch: {max_age: 10ms}}
  - {name: archive, type: memory, id: %q, batch: {max_age: 10ms}}
  - {name: lake, type: memory, id: %q, batch: {max_age: 10ms}}
`, starToken, streamA, ids["siem"], ids["archive"], ids["lake"])
	return startWith(t, yml), mem
}

// startWith starts an engine from yml on a loopback port and shuts it down when t ends.
func startWith(t *testing.T, yml string) *testEngine {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	te := serveEngine(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = te.Shutdown(ctx)
	})
	return te
}

func TestRoutingInTheEngine(t *testing.T) {
	te, mem := routedEngine(t)
	body := strings.Join([]string{
		`{"source":"a","event":{"transactionId":"t1","status":"declined","amount":5000},"metadata":{"region":"eu-west-1"}}`,
		`{"source":"a","event":{"transactionId":"t2","status":"health"}}`,
		`{"source":"a","event":{"transactionId":"t3","status":"approved","amount":10},"metadata":{"region":"eu-central-1"}}`,
	}, "\n")
	if r := te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/x-ndjson"), []byte(body)); r.status != 200 || r.Events != 3 {
		t.Fatalf("ingest: %d %s", r.status, r.Detail)
	}
	// t1: big-declines (final) → siem only. t2: filtered. t3: eu → lake and archive; the half
	// route may add lake again, which it already has, and must not duplicate it.
	siem := mem["siem"].waitLines(t, 1)
	archive := mem["archive"].waitLines(t, 1)
	lake := mem["lake"].waitLines(t, 1)
	if !strings.Contains(siem[0], `"t1"`) || !strings.Contains(archive[0], `"t3"`) || !strings.Contains(lake[0], `"t3"`) {
		t.Fatalf("siem %q archive %q lake %q", siem, archive, lake)
	}
	if strings.Contains(lake[0], "sample_rate") {
		t.Errorf("lake got t3 from an unsampled route, yet it carries a sample_rate: %s", lake[0])
	}
	reg := te.met
	if got := testutil.ToFloat64(reg.dropped.WithLabelValues("payments", "health")); got != 1 {
		t.Errorf("dropped{reason=health} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(reg.routed.WithLabelValues("payments", "big-declines", "kept")); got != 1 {
		t.Errorf("route big-declines kept = %v, want 1", got)
	}
	if got := testutil.ToFloat64(reg.routed.WithLabelValues("payments", "eu", "kept")); got != 1 {
		t.Errorf("route eu kept = %v, want 1", got)
	}
}

// Sampling by key: every event of one transaction shares one fate, kept events carry
// sample_rate 2, and the others count as sampled out, not as unrouted.
func TestKeyedSamplingInTheEngine(t *testing.T) {
	te, mem := routedEngine(t)
	var body bytes.Buffer
	const keys, perKey = 200, 3
	for k := 0; k < keys; k++ {
		for range perKey {
			fmt.Fprintf(&body, `{"source":"a","event":{"transactionId":"k%d","status":"approved"}}`+"\n", k)
		}
	}
	if r := te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/x-ndjson"), body.Bytes()); r.status != 200 {
		t.Fatalf("ingest: %d %s", r.status, r.Detail)
	}
	kept := testutil.ToFloat64(te.met.routed.WithLabelValues("payments", "half", "kept"))
	out := testutil.ToFloat64(te.met.routed.WithLabelValues("payments", "half", "sampled_out"))
	deadline := time.Now().Add(5 * time.Second)
	for kept+out < keys*perKey && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		kept = testutil.ToFloat64(te.met.routed.WithLabelValues("payments", "half", "kept"))
		out = testutil.ToFloat64(te.met.routed.WithLabelValues("payments", "half", "sampled_out"))
	}
	if kept+out != keys*perKey || kept < keys*perKey*0.35 || kept > keys*perKey*0.65 {
		t.Fatalf("half route kept %v and sampled out %v of %d", kept, out, keys*perKey)
	}
	lines := mem["lake"].waitLines(t, int(kept))
	perTxn := map[string]int{}
	for _, l := range lines {
		var ev struct {
			Event      struct{ TransactionID string } `json:"event"`
			SampleRate int                            `json:"sample_rate"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.SampleRate != 2 {
			t.Fatalf("sample_rate %d, want 2: %s", ev.SampleRate, l)
		}
		perTxn[ev.Event.TransactionID]++
	}
	for k, n := range perTxn {
		if n != perKey {
			t.Errorf("transaction %s: %d of its %d events kept; a key's events share one decision", k, n, perKey)
		}
	}
	if got := testutil.ToFloat64(te.met.dropped.WithLabelValues("payments", "sampled_out")); got != out {
		t.Errorf("dropped{sampled_out} = %v, want %v", got, out)
	}
	if got := testutil.ToFloat64(te.met.dropped.WithLabelValues("payments", "no_route")); got != 0 {
		t.Errorf("dropped{no_route} = %v, want 0: sampled-out events matched a route", got)
	}
}

// TestReloadUnderLoadExactlyOnce reloads the config 20 times while clients keep sending, each
// reload changing the pipeline, and finds every accepted event delivered exactly once.
func TestReloadUnderLoadExactlyOnce(t *testing.T) {
	idOut, out := newMem(t)
	yml := func(gen int) string {
		return fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: memory}
tokens:
  - {name: star, token: %q, streams: ["*"]}
streams:
  - id: %q
    processors:
      - {type: filter, when: 'event.drop == true', reason: unwanted}
    routes:
      - {name: gen%d, when: 'exists(event.n)', to: [out]}
sinks:
  - {name: out, type: memory, id: %q, batch: {max_events: 64, max_age: 5ms}}
`, starToken, streamA, gen, idOut)
	}
	te := startWith(t, yml(0))
	var accepted sync.Map
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-%d", c, i)
				body := fmt.Sprintf(`{"source":"load","event":{"n":%q}}`, id)
				req, _ := http.NewRequest("POST", te.url+IngestPath, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+starToken)
				req.Header.Set("X-Stream-Id", streamA)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				sent.Add(1)
				if resp.StatusCode == 200 {
					accepted.Store(id, true)
				}
			}
		}()
	}
	for gen := 1; gen <= 20; gen++ {
		time.Sleep(15 * time.Millisecond)
		cfg, err := config.Parse([]byte(yml(gen)), "reload.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := te.Reload(context.Background(), cfg); err != nil {
			t.Fatalf("reload %d: %v", gen, err)
		}
	}
	close(stop)
	wg.Wait()
	want := 0
	accepted.Range(func(any, any) bool { want++; return true })
	if want == 0 {
		t.Fatal("no event was accepted")
	}
	lines := out.waitLines(t, want)
	seen := map[string]int{}
	for _, l := range lines {
		var ev struct {
			Event struct{ N string } `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		seen[ev.Event.N]++
	}
	accepted.Range(func(k, _ any) bool {
		if n := seen[k.(string)]; n != 1 {
			t.Errorf("event %s delivered %d times", k, n)
		}
		return true
	})
	if testutil.ToFloat64(te.met.reloads.WithLabelValues("ok")) != 20 {
		t.Errorf("reloads{ok} = %v, want 20", testutil.ToFloat64(te.met.reloads.WithLabelValues("ok")))
	}
	t.Logf("%d requests, %d accepted, every one delivered once across 20 reloads", sent.Load(), want)
}
