package core

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/sinks"
)

// deadLetter is one sink's dead-letter queue: the events it refused for good, one JSON line
// each, in files named <sink>-<YYYY-MM-DD>.ndjson under dir:
//
//	{"time":"…","sink":"…","stream":"…","stream_id":"…","error":"…","event":{…the stored event…}}
//
// Each write is fsync'd before the batch counts as handled.
type deadLetter struct {
	dir  string
	sink string
	mu   sync.Mutex
	buf  []byte
}

func newDeadLetter(dir, sink string) *deadLetter { return &deadLetter{dir: dir, sink: sink} }

// deadLetterFile is the file of a sink's refused events on day t (UTC).
func deadLetterFile(dir, sink string, t time.Time) string {
	return filepath.Join(dir, sink+"-"+t.UTC().Format(time.DateOnly)+".ndjson")
}

func (d *deadLetter) write(b *sinks.Batch, reason error, reasons []string, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = d.buf[:0]
	ts := now.UTC().Format(time.RFC3339Nano)
	all := reason.Error()
	i := 0
	for line := range bytes.Lines(b.Data) {
		why := all
		if i < len(reasons) {
			why = reasons[i]
		}
		i++
		line = bytes.TrimSuffix(line, []byte{'\n'})
		d.buf = append(d.buf, `{"time":"`...)
		d.buf = append(d.buf, ts...)
		d.buf = append(d.buf, `","sink":`...)
		d.buf = jsonedit.AppendString(d.buf, []byte(d.sink))
		d.buf = append(d.buf, `,"stream":`...)
		d.buf = jsonedit.AppendString(d.buf, []byte(b.Stream))
		d.buf = append(d.buf, `,"stream_id":`...)
		d.buf = jsonedit.AppendString(d.buf, []byte(b.StreamID))
		d.buf = append(d.buf, `,"error":`...)
		d.buf = jsonedit.AppendString(d.buf, []byte(why))
		d.buf = append(d.buf, `,"event":`...)
		d.buf = append(d.buf, line...)
		d.buf = append(d.buf, "}\n"...)
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	f, err := openDeadLetter(deadLetterFile(d.dir, d.sink, now))
	if err != nil {
		return err
	}
	_, err = f.Write(d.buf)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// deadLettered is one line of a dead-letter file.
type deadLettered struct {
	Stream   string          `json:"stream"`
	StreamID string          `json:"stream_id"`
	Event    json.RawMessage `json:"event"`
}

// ReplayReport says what ReplayDeadLetters did.
type ReplayReport struct {
	Files  []string // files replayed whole, now renamed with the suffix ".replayed"
	Events int
}

// ReplayDeadLetters sends the events in the dead-letter files of sink again, through a fresh
// instance of that sink built from cfg, in file order, batched by stream within each file.
//
// It may run while the server does. Each file is first claimed: renamed to <file>.replaying,
// so that the server's next refusals start a new file, and locked until a write the server had
// begun is finished. A file delivered whole is renamed to <file>.replayed, so a second run does
// not send it again. Delivery errors are retried while they are retryable (up to attempts
// times), a batch too large is split; a permanent refusal or the last failed attempt stops the
// replay, and the claimed file keeps only the events not yet delivered, for the next run.
func ReplayDeadLetters(ctx context.Context, cfg *config.Config, sinkName string, attempts int) (ReplayReport, error) {
	var rep ReplayReport
	var sc *config.Sink
	for i := range cfg.Sinks {
		if cfg.Sinks[i].Name == sinkName {
			sc = &cfg.Sinks[i]
		}
	}
	if sc == nil {
		return rep, fmt.Errorf("no sink is named %q", sinkName)
	}
	// Files an earlier run claimed and did not finish come first: they are the older.
	claimed, err := filepath.Glob(filepath.Join(sc.DeadLetter.Dir, sinkName+"-*.ndjson"+claimSuffix))
	if err != nil {
		return rep, err
	}
	fresh, err := filepath.Glob(filepath.Join(sc.DeadLetter.Dir, sinkName+"-*.ndjson"))
	if err != nil {
		return rep, err
	}
	files := append(claimed, fresh...)
	if len(files) == 0 {
		return rep, nil
	}
	reg, ok := sinks.Lookup(sc.Type)
	if !ok {
		return rep, fmt.Errorf("sink %q: type %q is not compiled in", sc.Name, sc.Type)
	}
	sk, err := reg.New(sc.Name, sc.Options)
	if err != nil {
		return rep, err
	}
	defer sk.Close(ctx)
	if err := sk.Connect(ctx); err != nil {
		return rep, fmt.Errorf("sink %q: connect: %w", sc.Name, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, claimSuffix)
		if file == name {
			if err := os.Rename(file, name+claimSuffix); err != nil {
				return rep, err
			}
		}
		n, err := replayFile(ctx, sk, sc, name+claimSuffix, attempts)
		rep.Events += n
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		if err := os.Rename(name+claimSuffix, replayedName(name)); err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, name)
	}
	return rep, nil
}

// replayedName is where a replayed file is kept: <file>.replayed, or <file>.replayed-N when a
// file of the same day was replayed before.
func replayedName(name string) string {
	p := name + ".replayed"
	for i := 2; ; i++ {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
		p = fmt.Sprintf("%s.replayed-%d", name, i)
	}
}

// claimSuffix marks a dead-letter file a replay has taken from the server.
const claimSuffix = ".replaying"

// replayFile sends the records of a claimed file. If it stops early, the file is rewritten with
// the records not yet delivered, so the next run sends no event twice.
func replayFile(ctx context.Context, sk sinks.Sink, sc *config.Sink, file string, attempts int) (int, error) {
	f, err := lockClaimed(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type pending struct {
		sinks.Batch
		lines []int // the file's lines in it
	}
	batches := map[string]*pending{}
	var order []string
	var done []bool // by line
	sent := 0
	flush := func(b *pending) error {
		if b.Events == 0 {
			return nil
		}
		if err := writeWithRetry(ctx, sk, &b.Batch, sc.Retry, attempts); err != nil {
			return err
		}
		for _, l := range b.lines {
			done[l] = true
		}
		sent += b.Events
		b.Data, b.Events, b.lines = b.Data[:0], 0, b.lines[:0]
		return nil
	}
	run := func() error {
		sc2 := bufio.NewScanner(f)
		sc2.Buffer(nil, 64<<20)
		for line := 0; sc2.Scan(); line++ {
			done = append(done, false)
			var dl deadLettered
			if err := json.Unmarshal(sc2.Bytes(), &dl); err != nil || len(dl.Event) == 0 {
				return fmt.Errorf("line %d is not a dead-letter record", line+1)
			}
			b := batches[dl.StreamID]
			if b == nil {
				b = &pending{Batch: sinks.Batch{Stream: dl.Stream, StreamID: dl.StreamID, ReceivedAt: time.Now().UnixNano()}}
				batches[dl.StreamID] = b
				order = append(order, dl.StreamID)
			}
			b.Data = append(append(b.Data, dl.Event...), '\n')
			b.Events++
			b.lines = append(b.lines, line)
			if b.Events >= sc.Batch.MaxEvents || len(b.Data) >= sc.Batch.MaxBytes {
				if err := flush(b); err != nil {
					return err
				}
			}
		}
		if err := sc2.Err(); err != nil {
			return err
		}
		for _, id := range order {
			if err := flush(batches[id]); err != nil {
				return err
			}
		}
		return nil
	}
	err = run()
	if err != nil && sent > 0 {
		err = errors.Join(err, keepUndelivered(file, done))
	}
	return sent, err
}

// keepUndelivered rewrites a claimed file with the records whose line is not done (lines past
// the end of done were never read and stay), replacing it atomically.
func keepUndelivered(file string, done []bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var out []byte
	i := 0
	for line := range bytes.Lines(data) {
		if i >= len(done) || !done[i] {
			out = append(out, line...)
		}
		i++
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// writeWithRetry writes b, waiting between retryable failures and splitting a batch too large
// as the engine does.
func writeWithRetry(ctx context.Context, sk sinks.Sink, b *sinks.Batch, r config.Retry, attempts int) error {
	wait := r.InitialBackoff
	for try := 1; ; try++ {
		err := sk.WriteBatch(ctx, b)
		if err == nil {
			return nil
		}
		kind, least := sinks.Classify(err)
		if kind == sinks.TooLarge && b.Events > 1 {
			cut, n := half(b)
			first, second := *b, *b
			first.Data, first.Events = b.Data[:cut], n
			second.Data, second.Events = b.Data[cut:], b.Events-n
			return errors.Join(writeWithRetry(ctx, sk, &first, r, attempts), writeWithRetry(ctx, sk, &second, r, attempts))
		}
		if kind == sinks.Permanent || kind == sinks.TooLarge || try >= attempts {
			return fmt.Errorf("after %d attempt(s): %w", try, err)
		}
		pause := jitter(wait)
		if kind == sinks.Backoff {
			pause = max(pause, least)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(wait*2, r.MaxBackoff)
	}
}
