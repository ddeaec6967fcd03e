package core

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
)

// Tryout runs NDJSON events from in through one stream's processors and routes, as the engine
// would after accepting them, without a server or sinks: how rules are written and tested
// (`ingestd process`). For each input line it writes one JSON line to out:
//
//	{"event":<the processed event, or null>,"routes":[matched routes],"sinks":[sinks reached],"dropped":"<reason, or empty>"}
//
// A line that the ingest API would refuse gives {"error":"line N: ..."} instead, and the others
// go on. token names the sender for enrich's token fact. The returned error counts the refused
// lines, or is an I/O error.
func Tryout(cfg *config.Config, streamIDOrName, token string, in io.Reader, out io.Writer) error {
	var s *config.Stream
	for i := range cfg.Streams {
		if cfg.Streams[i].ID == streamIDOrName || cfg.Streams[i].Name == streamIDOrName {
			s = &cfg.Streams[i]
			break
		}
	}
	if s == nil {
		return fmt.Errorf("no stream has the id or name %q", streamIDOrName)
	}
	if s.Pipeline == nil {
		return errors.New("the config was not checked: load it with config.Load")
	}
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	facts := processor.Facts{
		Host:     strconv.AppendQuote(nil, host),
		Token:    strconv.AppendQuote(nil, token),
		Stream:   strconv.AppendQuote(nil, s.Key()),
		StreamID: strconv.AppendQuote(nil, s.ID),
	}
	p := s.Pipeline
	w := p.NewWorker()
	lim := decode.Limits{MaxEvents: 1, MaxDepth: cfg.Server.MaxDepth}
	var sc decode.Scanner
	var line, stored, received, idPrefix []byte
	bw := bufio.NewWriter(out)
	br := bufio.NewReaderSize(in, 64<<10)
	refused := 0
	for n := 1; ; n++ {
		line, err = readLine(br, line[:0], cfg.Server.MaxPayloadBytes)
		switch {
		case err == errLineTooLong:
			refused++
			writeRefused(bw, n, fmt.Sprintf("the line is longer than max_payload_bytes (%d)", cfg.Server.MaxPayloadBytes))
		case len(line) == 0:
		default:
			if serr := sc.Scan(line, decode.NDJSON, lim); serr != nil {
				refused++
				writeRefused(bw, n, serr.Error())
				break
			}
			if len(sc.Events) == 0 {
				break // a blank line
			}
			now := time.Now()
			received = now.UTC().AppendFormat(received[:0], receivedLayout)
			// Events tried out are numbered by line, from origin 0: nothing is logged.
			idPrefix = appendIDPrefix(idPrefix[:0], 0, uint64(n))
			stored = appendStored(stored[:0], line, &sc.Events[0], facts.StreamID, received, idPrefix, 0)
			writeResult(bw, p, w, w.Run(stored[:len(stored)-1], &facts, now.UnixNano()))
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != errLineTooLong {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if refused > 0 {
		return fmt.Errorf("%d line(s) refused", refused)
	}
	return nil
}

var errLineTooLong = errors.New("line too long")

// readLine appends the next line of r, without its newline, to dst. A line over limit bytes
// is skipped whole and reported as errLineTooLong.
func readLine(r *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			dst = append(dst, chunk...)
			if len(dst) > limit+1 {
				tooLong, dst = true, dst[:0]
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(dst) > 0 && dst[len(dst)-1] == '\n' {
			dst = dst[:len(dst)-1]
		}
		if tooLong && err == nil {
			err = errLineTooLong
		}
		return dst, err
	}
}

func writeRefused(w *bufio.Writer, line int, msg string) {
	w.WriteString(`{"error":`)
	w.Write(jsonedit.AppendString(nil, []byte("line "+strconv.Itoa(line)+": "+msg)))
	w.WriteString("}\n")
}

// writeResult writes one result line. The event is shown as the first sink reached gets it;
// others can differ only in "sample_rate".
func writeResult(w *bufio.Writer, p *pipeline.Pipeline, pw *pipeline.Worker, r *pipeline.Result) {
	w.WriteString(`{"event":`)
	switch {
	case r.Event == nil:
		w.WriteString("null")
	case r.Sinks != 0:
		w.Write(pw.Line(bits.TrailingZeros64(r.Sinks)))
	default:
		w.Write(r.Event)
	}
	w.WriteString(`,"routes":[`)
	n := 0
	for i, rt := range p.Routes() {
		if r.Matched&(1<<i) != 0 {
			if n > 0 {
				w.WriteByte(',')
			}
			w.Write(strconv.AppendQuote(nil, rt.Name))
			n++
		}
	}
	w.WriteString(`],"sinks":[`)
	n = 0
	for i, name := range p.Sinks() {
		if r.Sinks&(1<<i) != 0 {
			if n > 0 {
				w.WriteByte(',')
			}
			w.Write(strconv.AppendQuote(nil, name))
			n++
		}
	}
	w.WriteString(`],"dropped":`)
	reason := ""
	if r.Sinks == 0 {
		reason = p.DropReasons()[r.DropCode]
	}
	w.Write(strconv.AppendQuote(nil, reason))
	w.WriteString("}\n")
}
