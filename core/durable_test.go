package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/wal"
)

func diskConfig(t *testing.T, walDir, sinkID, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: disk, wal: {dir: %q, segment_bytes: 1048576, max_bytes: %s}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [out]}]
sinks:
  - {name: out, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}, buffer: {max_batches: 100000}}
`, walDir, extra, starToken, sinkID)), "disk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Requests answered 200 under ack: disk survive an engine that never delivered them: the next
// engine on the same log replays them, once delivered the checkpoint moves past them, and a
// third start replays nothing.
func TestAckDiskReplays(t *testing.T) {
	walDir := t.TempDir()
	idA, a := newMem(t)
	a.gate = make(chan struct{}) // the first engine's sink never delivers
	te := serveEngine(t, diskConfig(t, walDir, idA, "1073741824"))
	e1 := te.Engine
	h := headers(starToken, "s", "application/x-ndjson")
	for i := range 5 {
		if r := te.post(t, "POST", IngestPath, h, numbered(3, nil)); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	// The engine stops without delivering: the grace period ends with the sink still stuck.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = e1.Shutdown(ctx)
	cancel()
	close(a.gate)

	idB, b := newMem(t)
	e2, err := New(context.Background(), diskConfig(t, walDir, idB, "1073741824"))
	if err != nil {
		t.Fatal(err)
	}
	b.waitLines(t, 15)
	if err := e2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := wal.Inspect(walDir)
	if err != nil || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Position == 0 {
		t.Fatalf("after delivery: %+v, %v", rep, err)
	}

	idC, c := newMem(t)
	e3, err := New(context.Background(), diskConfig(t, walDir, idC, "1073741824"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(c.Lines()); n != 0 {
		t.Fatalf("a third start replayed %d events already delivered", n)
	}
	e3.Shutdown(context.Background())
}

// A full log turns ack: disk requests away with 503 until the sinks catch up.
func TestAckDiskFullLog(t *testing.T) {
	walDir := t.TempDir()
	id, m := newMem(t)
	m.gate = make(chan struct{})
	te := serveEngine(t, diskConfig(t, walDir, id, "2097152"))
	defer func() {
		close(m.gate)
		te.Shutdown(context.Background())
	}()
	h := headers(starToken, "s", "application/x-ndjson")
	// Random text, which compression cannot shrink much: about 150 KB a request.
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, `{"source":"t","event":{"n":%d,"noise":%q}}`+"\n", i, rand.Text()+rand.Text()+rand.Text()+rand.Text())
	}
	body := []byte(sb.String())
	for i := range 200 {
		r := te.post(t, "POST", IngestPath, h, body)
		if r.status == 503 {
			if !strings.Contains(r.Detail, "write-ahead log is full") {
				t.Fatalf("503 for another reason: %s", r.Detail)
			}
			return
		}
		if r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	t.Fatal("200 requests of 150 KB fit a 2 MiB log")
}

// serveEngine starts an engine on a loopback port; the test shuts it down itself.
func serveEngine(t *testing.T, cfg *config.Config) *testEngine {
	t.Helper()
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(ln)
	return &testEngine{Engine: e, url: "http://" + ln.Addr().String()}
}

// Each sink's checkpoint moves over the requests at the head of the log that it has finished —
// including those none of whose events went to it — whatever other sinks still hold; one
// dropped at shutdown freezes that sink's checkpoint, and only that sink's.
func TestDurableCheckpointAdvance(t *testing.T) {
	dir := t.TempDir()
	d, err := openDurable(config.WAL{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 1 << 20}, map[int]string{0: "a", 1: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var ts []*ticket
	for range 4 {
		pos, err := d.log.Append(context.Background(), []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		tk := newTicket(false)
		tk.pos = pos
		ts = append(ts, tk)
	}
	for _, i := range []int{1, 0, 3, 2} { // tracked out of order, as concurrent handlers may
		d.track(ts[i])
	}
	batchOf := func(sink int, tks ...*ticket) *batch {
		b := &batch{sink: sink}
		for _, tk := range tks {
			b.track(tk)
		}
		return b
	}
	// Request 0 goes to both sinks, 1 to b only, 2 to a only, 3 to none (filtered).
	a0, b0, b1, a2 := batchOf(0, ts[0]), batchOf(1, ts[0]), batchOf(1, ts[1]), batchOf(0, ts[2])
	for _, tk := range ts {
		tk.appended()
	}
	checkpoints := func() (wal.Position, wal.Position) {
		t.Helper()
		if err := d.advance(); err != nil {
			t.Fatal(err)
		}
		pa, _ := d.log.Checkpoint("a")
		pb, _ := d.log.Checkpoint("b")
		return pa, pb
	}
	start, _ := d.log.Checkpoint("a")
	a0.finish("", false)
	if pa, pb := checkpoints(); pa != ts[1].pos || pb != start {
		t.Fatalf("checkpoints a=%d b=%d, want a past request 1 (%d), b still at the start (%d)", pa, pb, ts[1].pos, start)
	}
	a2.finish("", false)
	b0.finish("", false)
	b1.finish("sink b could not deliver them before shutdown", true)
	if pa, pb := checkpoints(); pa != ts[3].pos || pb != ts[0].pos {
		t.Fatalf("checkpoints a=%d b=%d, want a at the end (%d), b frozen before request 1 (%d)", pa, pb, ts[3].pos, ts[0].pos)
	}
	if len(d.inflight) != 0 {
		t.Fatalf("%d finished requests still tracked", len(d.inflight))
	}
}

// A reload cannot turn ack: disk on when the engine started without a write-ahead log.
func TestReloadToAckDiskNeedsRestart(t *testing.T) {
	id, _ := newMem(t)
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [out]%s}]
sinks: [{name: out, type: memory, id: %q}]
`, starToken, "%s", id)
	te := startWith(t, fmt.Sprintf(yml, ""))
	cfg, err := config.Parse(fmt.Appendf(nil, yml, ", ack: disk"), "disk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "restart ingestd") {
		t.Fatalf("reload to ack: disk: %v", err)
	}
	if got := testutil.ToFloat64(te.met.reloads.WithLabelValues("failed")); got != 1 {
		t.Fatalf("reloads{failed} = %v, want 1", got)
	}
}

// A request logged under a larger max_payload_bytes is not replayed past the limit in force
// now: it is counted as dropped instead, before any buffer of its size is made.
func TestReplayKeepsThePayloadLimit(t *testing.T) {
	walDir := t.TempDir()
	conf := func(id, limit string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: disk, max_payload_bytes: %s, wal: {dir: %q}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [out]}]
sinks:
  - {name: out, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}}
`, limit, walDir, starToken, id)), "limit.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	idA, a := newMem(t)
	a.gate = make(chan struct{})
	te := serveEngine(t, conf(idA, "1048576"))
	h := headers(starToken, "s", "application/x-ndjson")
	small, big := numbered(2, nil), numbered(2000, nil) // ~100 B and ~100 KB
	for _, body := range [][]byte{small, big} {
		if r := te.post(t, "POST", IngestPath, h, body); r.status != 200 {
			t.Fatalf("ingest: %+v", r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()
	close(a.gate)

	idB, b := newMem(t)
	e2, err := New(context.Background(), conf(idB, "65536"))
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Shutdown(context.Background())
	b.waitLines(t, 2)
	time.Sleep(100 * time.Millisecond)
	if n := len(b.Lines()); n != 2 {
		t.Fatalf("replayed %d events, want the small request's 2", n)
	}
	if n := testutil.ToFloat64(e2.met.dropped.WithLabelValues("s", dropReplayInvalid)); n != 1 {
		t.Fatalf("dropped{replay_invalid} = %v, want 1 request", n)
	}
}

// A request relocate cannot copy (its record is gone, or is not a request record) stays where
// it is, held as before: no copy is tracked and the sink's checkpoint does not pass it.
func TestRelocateKeepsWhatItCannotCopy(t *testing.T) {
	for _, missing := range []bool{true, false} {
		t.Run(fmt.Sprintf("record missing %v", missing), func(t *testing.T) {
			d, err := openDurable(config.WAL{Dir: t.TempDir(), MaxBytes: 1 << 30, SegmentBytes: 1 << 20}, map[int]string{0: "down"})
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			var positions []wal.Position
			for _, payload := range []string{"not a request record", "x", "y", "z"} {
				pos, err := d.log.Append(context.Background(), []byte(payload))
				if err != nil {
					t.Fatal(err)
				}
				positions = append(positions, pos)
			}
			tk := newTicket(false)
			tk.pos = positions[0]
			if missing {
				tk.pos = 1 // no record starts there
			}
			tk.hold(0) // the sink that is down holds some of its events
			tk.appended()
			d.track(tk)
			d.relocate()
			if n := d.relocated.Load(); n != 0 || len(d.copies) != 0 || tk.moved != 0 {
				t.Fatalf("relocated %d, %d copies, moved %b: want nothing copied", n, len(d.copies), tk.moved)
			}
			if err := d.advance(); err != nil {
				t.Fatal(err)
			}
			if cp, _ := d.log.Checkpoint("down"); cp >= tk.pos {
				t.Fatalf("checkpoint %d passed a request the sink still holds", cp)
			}
		})
	}
}
