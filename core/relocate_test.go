package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
)

// relocateConfig: stream held routes to a sink that is down and to a healthy one, stream free
// to another healthy one; the write-ahead log is small (4 MiB).
func relocateConfig(t *testing.T, walDir, downID, heldCopyID, freeID string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: disk, wal: {dir: %q, segment_bytes: 1048576, max_bytes: 4194304}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - {id: held, sinks: [down, copy]}
  - {id: free, sinks: [up]}
sinks:
  - {name: down, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}, buffer: {max_batches: 3}}
  - {name: copy, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}}
  - {name: up, type: memory, id: %q, batch: {max_events: 1000, max_age: 10ms}, buffer: {max_batches: 100000}}
`, walDir, starToken, downID, heldCopyID, freeID)), "relocate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// incompressible returns an NDJSON body of n events of about 400 random hex digits each, so
// that the log's S2 compression cannot shrink them much.
func incompressible(n int) []byte {
	var b strings.Builder
	r := make([]byte, 200)
	for i := range n {
		rand.Read(r)
		fmt.Fprintf(&b, `{"source":"t","event":{"n":%d,"r":%q}}`+"\n", i, hex.EncodeToString(r))
	}
	return []byte(b.String())
}

func sortedIDs(t *testing.T, lines []string) []string {
	ids := eventIDs(t, lines)
	slices.Sort(ids)
	return ids
}

// A sink that is down holds back the requests it has not delivered; under ack: disk the log is
// shared, so without relocation those requests would keep every segment written after them
// and the log would fill up for streams that never route to that sink. The log copies them to
// its head instead: the other stream keeps being accepted through three times the log's size,
// and the copies are what the sink gets after a restart, with the events' first ids.
func TestWALRelocatesWhatADownSinkHolds(t *testing.T) {
	walDir := t.TempDir()
	downID, down := newMem(t)
	down.gate = make(chan struct{}) // never opened: the destination is down for this engine
	copyID, heldCopy := newMem(t)
	upID, up := newMem(t)
	te := serveEngine(t, relocateConfig(t, walDir, downID, copyID, upID))

	held := headers(starToken, "held", "application/x-ndjson")
	for i := range 3 {
		if r := te.post(t, "POST", IngestPath, held, numbered(5, nil)); r.status != 200 {
			t.Fatalf("held request %d: %+v", i, r)
		}
	}
	heldLines := heldCopy.waitLines(t, 15)

	free := headers(starToken, "free", "application/x-ndjson")
	body := incompressible(100) // ~45 KB, about 25 KB in the log
	sent, refused := 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for sent < 500 { // ~12 MB through a 4 MiB log
		if time.Now().After(deadline) {
			t.Fatalf("after %d requests the free stream is still refused (%d refusals): the held requests pin the log", sent, refused)
		}
		switch r := te.post(t, "POST", IngestPath, free, body); r.status {
		case 200:
			sent++
		case 503:
			refused++
			time.Sleep(20 * time.Millisecond) // the log is full until segments go
		default:
			t.Fatalf("free request: %+v", r)
		}
	}
	up.waitLines(t, 100*sent)
	if n := testutil.ToFloat64(te.met.dropped.WithLabelValues("held", dropSinkFull)); n != 0 {
		t.Fatalf("%v held events dropped", n)
	}
	stats := te.wal.log.Stats()
	if te.wal.relocated.Load() == 0 {
		t.Fatal("nothing was relocated")
	}
	t.Logf("500 free requests with %d refusals; %d relocations (%d bytes); log %d bytes in %d segments",
		refused, te.wal.relocated.Load(), te.wal.relocBytes.Load(), stats.UsedBytes, stats.Segments)

	// The engine stops with the sink still down; the next start, with it back, delivers the
	// held events from their copies, each with the id it was first stored with.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()
	downID2, down2 := newMem(t)
	copyID2, heldCopy2 := newMem(t)
	upID2, up2 := newMem(t)
	e2, err := New(context.Background(), relocateConfig(t, walDir, downID2, copyID2, upID2))
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Shutdown(context.Background())
	got := down2.waitLines(t, 15)
	time.Sleep(300 * time.Millisecond)
	if got = down2.Lines(); !slices.Equal(sortedIDs(t, got), sortedIDs(t, heldLines)) {
		t.Fatalf("after the restart the sink that was down got\n%v\nwant the held events\n%v", sortedIDs(t, got), sortedIDs(t, heldLines))
	}
	if n, m := len(heldCopy2.Lines()), len(up2.Lines()); n != 0 || m != 0 {
		t.Fatalf("the restart replayed %d held and %d free events to sinks that had them", n, m)
	}
}
