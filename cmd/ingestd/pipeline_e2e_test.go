package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pipelineConfig is a config whose stream runs every processor type and routes to two file
// sinks; gen changes what enrich writes and the route names, as a reload would.
func pipelineConfig(dir string, gen int) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  grace_period: 10s
tokens:
  - {name: star, token: %q, streams: ["*"]}
streams:
  - id: %q
    name: payments
    processors:
      - {type: parse, field: event.message, format: kv, target: event.details}
      - type: enrich
        set: {metadata.region: "eu-west-1", metadata.gen: %d}
        rename: {event.latency_ms: event.latency}
        facts: {metadata.token: token, metadata.stream: stream}
        lookup: {file: countries.csv, key: event.country, into: metadata.geo}
      - {type: mask, fields: [event.card, event.note], detectors: [credit_card, email], mode: hash, key: "${E2E_MASK_KEY}"}
      - {type: filter, when: 'event.status == "health"', reason: health}
    routes:
      - {name: declines-%d, when: 'event.status == "declined" && event.amount > 1000', to: [siem], final: true}
      - {name: eu-%d, when: 'metadata.geo.region == "EU"', to: [siem, archive]}
    default: [archive]
sinks:
  - {name: siem, type: file, path: %q, batch: {max_events: 100, max_age: 20ms}}
  - {name: archive, type: file, path: %q, batch: {max_events: 100, max_age: 20ms}}
`, starToken, streamA, gen, gen, gen,
		filepath.Join(dir, "siem", "{stream}.ndjson"), filepath.Join(dir, "archive", "{stream}.ndjson"))
}

const countriesCSV = "code,name,region\nFR,France,EU\nUS,United States,NA\n"

const e2eMaskKey = "e2e-mask-key-0123456789abcdef"

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEndToEndProcess runs `ingestd process` as a person writing rules would: events on
// standard input, one result per line on standard output.
func TestEndToEndProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, pipelineConfig(dir, 1))
	writeFile(t, filepath.Join(dir, "countries.csv"), countriesCSV)
	in := strings.Join([]string{
		`{"source":"app","event":{"status":"declined","amount":5000,"country":"US","message":"level=warn msg=\"card refused\"","latency_ms":12}}`,
		`{"source":"app","event":{"status":"approved","amount":10,"country":"FR","card":"4111 1111 1111 1111","note":"mail bob@example.com now"}}`,
		`{"source":"app","event":{"status":"health"}}`,
		`{"source":"app","event":{"status":"approved","country":"US","message":"no pairs here"}}`,
		`{"event":{}}`,
	}, "\n")
	cmd := exec.Command(ingestdBinary(t), "process", "--config", cfgPath, "--stream", "payments", "--token", "rules-author")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "E2E_MASK_KEY="+e2eMaskKey)
	cmd.Stdin = strings.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "1 line(s) refused") {
		t.Fatalf("exit %v, stderr %q: want 1 for the refused last line", err, stderr.String())
	}
	type result struct {
		Event   map[string]any `json:"event"`
		Routes  []string       `json:"routes"`
		Sinks   []string       `json:"sinks"`
		Dropped string         `json:"dropped"`
		Error   string         `json:"error"`
	}
	var got []result
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		got = append(got, r)
	}
	if len(got) != 5 {
		t.Fatalf("%d result lines, want 5:\n%s", len(got), stdout.String())
	}
	field := func(ev map[string]any, path string) any {
		var v any = ev
		for _, seg := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[seg]
		}
		return v
	}
	// 1: parsed, renamed, enriched with facts and the lookup; a big decline goes to siem only.
	r := got[0]
	if fmt.Sprint(r.Routes, r.Sinks) != "[declines-1] [siem]" {
		t.Errorf("event 1: routes %v sinks %v", r.Routes, r.Sinks)
	}
	for path, want := range map[string]any{
		"event.details.level": "warn", "event.details.msg": "card refused", "event.latency": 12.0,
		"metadata.region": "eu-west-1", "metadata.gen": 1.0, "metadata.token": "rules-author",
		"metadata.stream": "payments", "metadata.geo.name": "United States", "metadata.geo.region": "NA",
		"stream_id": streamA,
	} {
		if v := field(r.Event, path); v != want {
			t.Errorf("event 1: %s = %v, want %v", path, v, want)
		}
	}
	if field(r.Event, "event.latency_ms") != nil {
		t.Error("event 1: latency_ms was not renamed away")
	}
	// 2: masked by HMAC; routed by the looked-up region to both sinks.
	r = got[1]
	if fmt.Sprint(r.Routes, r.Sinks) != "[eu-1] [siem archive]" {
		t.Errorf("event 2: routes %v sinks %v", r.Routes, r.Sinks)
	}
	card, _ := field(r.Event, "event.card").(string)
	note, _ := field(r.Event, "event.note").(string)
	if !strings.HasPrefix(card, "hmac:") || len(card) != 37 || !strings.HasPrefix(note, "mail hmac:") || !strings.HasSuffix(note, " now") {
		t.Errorf("event 2: card %q note %q, want HMAC pseudonyms", card, note)
	}
	// 3: filtered. 4: a failed parse is kept and tagged; no route matches, so default.
	if got[2].Event != nil || got[2].Dropped != "health" {
		t.Errorf("event 3: %+v, want dropped as health", got[2])
	}
	r = got[3]
	if fmt.Sprint(r.Routes, r.Sinks) != "[] [archive]" || !strings.Contains(fmt.Sprint(field(r.Event, "parse_error")), "has no '='") {
		t.Errorf("event 4: routes %v sinks %v parse_error %v", r.Routes, r.Sinks, field(r.Event, "parse_error"))
	}
	if !strings.Contains(got[4].Error, "line 5: missing_field") {
		t.Errorf("line 5: %q", got[4].Error)
	}
}

// TestEndToEndReloadUnderLoad reloads the running binary with SIGHUP 20 times (plus once with an
// invalid file, which must be refused and counted) while four clients keep sending, then stops
// it: every event that got a 200 is in the sinks' files exactly once.
func TestEndToEndReloadUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, pipelineConfig(dir, 0))
	writeFile(t, filepath.Join(dir, "countries.csv"), countriesCSV)
	p := startIngestd(t, dir, []string{"E2E_MASK_KEY=" + e2eMaskKey}, "--config", cfgPath)
	url := "http://" + p.addr + "/v1/streams/ingest"

	var mu sync.Mutex
	accepted := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
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
				var body bytes.Buffer
				ids := make([]string, 5)
				for j := range ids {
					ids[j] = fmt.Sprintf("c%d-%d-%d", c, i, j)
					// Every event is routed: US declines to siem, the rest to archive.
					fmt.Fprintf(&body, `{"source":"load","event":{"id":%q,"status":"declined","amount":%d,"country":"US"}}`+"\n", ids[j], 500*(j+1))
				}
				req, _ := http.NewRequest("POST", url, &body)
				req.Header.Set("Authorization", "Bearer "+starToken)
				req.Header.Set("X-Stream-Id", streamA)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					for _, id := range ids {
						accepted[id] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	reloaded := func(n int) bool {
		return strings.Count(p.stderr.String(), `msg="config reloaded"`) >= n
	}
	for gen := 1; gen <= 20; gen++ {
		if gen == 10 {
			writeFile(t, cfgPath, "streams: [{id: broken\n")
			p.cmd.Process.Signal(syscall.SIGHUP)
			waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "reload refused") })
		}
		writeFile(t, cfgPath, pipelineConfig(dir, gen))
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return reloaded(gen) })
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ingestd_config_reloads_total{result="ok"} 20`, `ingestd_config_reloads_total{result="invalid"} 1`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	p.stop()
	p.wantExit(0, 15*time.Second)

	seen := map[string]int{}
	gens := map[float64]bool{}
	for _, sink := range []string{"siem", "archive"} {
		data, err := os.ReadFile(filepath.Join(dir, sink, "payments.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var ev struct {
				Event    struct{ ID string }   `json:"event"`
				Metadata struct{ Gen float64 } `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%s: %v: %s", sink, err, line)
			}
			seen[ev.Event.ID]++
			gens[ev.Metadata.Gen] = true
		}
	}
	if len(accepted) == 0 {
		t.Fatal("no event was accepted")
	}
	for id := range accepted {
		if seen[id] != 1 {
			t.Errorf("event %s stored %d times", id, seen[id])
		}
	}
	if len(seen) != len(accepted) {
		t.Errorf("%d events stored, %d accepted", len(seen), len(accepted))
	}
	t.Logf("%d events accepted and stored once each, across %d config generations", len(accepted), len(gens))
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
