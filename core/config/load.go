package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the config file at path. An unreadable file gives the I/O error; an
// invalid one gives Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes, completes with defaults and checks a YAML config; file names it in messages.
// ${VAR} references are taken from the environment. If anything is wrong, it returns every
// problem found as Errors, sorted by line. On success each token's Hash is set and its Secret
// cleared.
func Parse(data []byte, file string) (*Config, error) {
	return parse(data, file, os.LookupEnv)
}

func parse(data []byte, file string, lookup func(string) (string, bool)) (*Config, error) {
	l := newLoader(file, lookup)
	cfg := &Config{File: file}
	if root := l.document(data); root != nil {
		l.decode(root, reflect.ValueOf(cfg).Elem(), "")
		setDefaults(cfg)
		l.check(cfg)
	}
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b Error) int { return cmp.Compare(a.Line, b.Line) })
		return nil, l.errs
	}
	return cfg, nil
}

const emptyFile = "the file is empty; a config needs at least tokens, streams and sinks"

// document returns the top-level mapping of a one-document YAML file, or nil when there is
// nothing to decode.
func (l *loader) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.fail(1, "", emptyFile)
		} else {
			l.syntax(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		l.fail(extra.Line, "", `only one YAML document is allowed; remove this "---" and what follows`)
	case !errors.Is(err, io.EOF):
		l.syntax(err)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		l.fail(1, "", emptyFile)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.fail(root.Line, "", "the top level must be a mapping with the keys server, tokens, streams and sinks; got "+describe(root))
		return nil
	}
	return root
}

// syntax reports a YAML syntax error, moving the library's "line N:" into the line field.
func (l *loader) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	l.fail(line, "", "invalid YAML: "+msg)
}

// maxBurst caps the default burst of a huge rate, where ceil(rate) would not fit an int.
const maxBurst = 1 << 53

// setDefaults fills settings left at zero.
func setDefaults(cfg *Config) {
	s := &cfg.Server
	orDefault(&s.Listen, DefaultListen)
	orDefault(&s.MaxPayloadBytes, DefaultMaxPayloadBytes)
	orDefault(&s.MaxEventsPerRequest, DefaultMaxEventsPerRequest)
	orDefault(&s.MaxDepth, DefaultMaxDepth)
	orDefault(&s.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&s.QueueSize, DefaultQueueSize)
	orDefault(&s.MaxQueueBytes, DefaultMaxQueueBytes)
	orDefault(&s.ReadTimeout, DefaultReadTimeout)
	orDefault(&s.WriteTimeout, DefaultWriteTimeout)
	orDefault(&s.IdleTimeout, DefaultIdleTimeout)
	orDefault(&s.GracePeriod, DefaultGracePeriod)
	orDefault(&s.Ack, DefaultAck)
	orDefault(&s.AckTimeout, DefaultAckTimeout)
	orDefault(&s.WAL.Dir, DefaultWALDir)
	orDefault(&s.WAL.MaxBytes, DefaultWALMaxBytes)
	orDefault(&s.WAL.SegmentBytes, DefaultWALSegmentBytes)
	orDefault(&s.WAL.CommitSiblings, DefaultWALCommitSiblings)
	if s.WAL.CommitDelay == nil {
		d := DefaultWALCommitDelay
		s.WAL.CommitDelay = &d
	}
	for i := range cfg.Tokens {
		defaultBurst(cfg.Tokens[i].RateLimit)
	}
	for i := range cfg.Streams {
		defaultBurst(cfg.Streams[i].RateLimit)
	}
	for i := range cfg.Sinks {
		b := &cfg.Sinks[i].Batch
		orDefault(&b.MaxEvents, DefaultBatchMaxEvents)
		orDefault(&b.MaxBytes, DefaultBatchMaxBytes)
		orDefault(&b.MaxAge, DefaultBatchMaxAge)
		s := &cfg.Sinks[i]
		orDefault(&s.Buffer.MaxBatches, DefaultBufferMaxBatches)
		orDefault(&s.Buffer.WhenFull, DefaultWhenFull)
		orDefault(&s.Retry.InitialBackoff, DefaultInitialBackoff)
		orDefault(&s.Retry.MaxBackoff, DefaultMaxBackoff)
		orDefault(&s.DeadLetter.Dir, DefaultDeadLetterDir)
	}
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// defaultBurst makes a burst of 0 one second's worth of events.
func defaultBurst(rl *RateLimit) {
	if rl == nil || rl.Burst != 0 || !(rl.EventsPerSecond > 0) {
		return
	}
	rl.Burst = int(min(math.Ceil(rl.EventsPerSecond), maxBurst))
}
