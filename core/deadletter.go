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
	f, err := os.OpenFile(deadLetterFile(d.dir, d.sink, now), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
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
// A file delivered whole is renamed to <file>.replayed, so a second run does not send it again.
// Delivery errors are retried while they are retryable (up to attempts times); a permanent
// refusal stops the replay with the file left in place.
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
	files, err := filepath.Glob(filepath.Join(sc.DeadLetter.Dir, sinkName+"-*.ndjson"))
	if err != nil || len(files) == 0 {
		return rep, err
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
		n, err := replayFile(ctx, sk, sc, file, attempts)
		rep.Events += n
		if err != nil {
			return rep, fmt.Errorf("%s: %w", file, err)
		}
		if err := os.Rename(file, file+".replayed"); err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, file)
	}
	return rep, nil
}

func replayFile(ctx context.Context, sk sinks.Sink, sc *config.Sink, file string, attempts int) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	batches := map[string]*sinks.Batch{}
	var order []string
	sent := 0
	flush := func(b *sinks.Batch) error {
		if b.Events == 0 {
			return nil
		}
		if err := writeWithRetry(ctx, sk, b, sc.Retry, attempts); err != nil {
			return err
		}
		sent += b.Events
		b.Data, b.Events = b.Data[:0], 0
		return nil
	}
	sc2 := bufio.NewScanner(f)
	sc2.Buffer(nil, 64<<20)
	for line := 1; sc2.Scan(); line++ {
		var dl deadLettered
		if err := json.Unmarshal(sc2.Bytes(), &dl); err != nil || len(dl.Event) == 0 {
			return sent, fmt.Errorf("line %d is not a dead-letter record", line)
		}
		b := batches[dl.StreamID]
		if b == nil {
			b = &sinks.Batch{Stream: dl.Stream, StreamID: dl.StreamID, ReceivedAt: time.Now().UnixNano()}
			batches[dl.StreamID] = b
			order = append(order, dl.StreamID)
		}
		b.Data = append(append(b.Data, dl.Event...), '\n')
		b.Events++
		if b.Events >= sc.Batch.MaxEvents || len(b.Data) >= sc.Batch.MaxBytes {
			if err := flush(b); err != nil {
				return sent, err
			}
		}
	}
	if err := sc2.Err(); err != nil {
		return sent, err
	}
	for _, id := range order {
		if err := flush(batches[id]); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// writeWithRetry writes b, waiting between retryable failures as the engine does.
func writeWithRetry(ctx context.Context, sk sinks.Sink, b *sinks.Batch, r config.Retry, attempts int) error {
	wait := r.InitialBackoff
	for try := 1; ; try++ {
		err := sk.WriteBatch(ctx, b)
		if err == nil {
			return nil
		}
		kind, least := sinks.Classify(err)
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
