package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ingestd/ingestd/sinks"
)

// invalid reports a checked setting at the line of its key, else of the nearest enclosing key
// present in the file. A setting under one that failed to decode is not reported again.
func (l *loader) invalid(key, msg string) {
	for p := key; p != ""; p = parent(p) {
		if l.failed[p] {
			return
		}
	}
	l.errs = append(l.errs, Error{File: l.file, Line: l.lineOf(key), Key: key, Msg: msg})
}

func (l *loader) lineOf(key string) int {
	for ; key != ""; key = parent(key) {
		if n, ok := l.lines[key]; ok {
			return n
		}
	}
	return 1
}

// parent strips the last ".name" or "[i]" from a key path.
func parent(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

func index(key string, i int) string { return key + "[" + strconv.Itoa(i) + "]" }

func (l *loader) check(cfg *Config) {
	streamIDs := make(map[string]bool, len(cfg.Streams))
	for _, s := range cfg.Streams {
		streamIDs[s.ID] = true
	}
	sinkNames := make(map[string]bool, len(cfg.Sinks))
	for _, s := range cfg.Sinks {
		sinkNames[s.Name] = true
	}
	l.checkServer(&cfg.Server)
	l.checkTokens(cfg.Tokens, streamIDs)
	l.checkStreams(cfg.Streams, sinkNames)
	l.checkSinks(cfg.Sinks)
}

func (l *loader) checkServer(s *Server) {
	if _, port, err := net.SplitHostPort(s.Listen); err != nil {
		l.invalid("server.listen", `must be host:port, such as "127.0.0.1:8080" or ":8080"`)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.invalid("server.listen", fmt.Sprintf("port %q must be a number from 0 to 65535", port))
	}
	payloadOK := l.between("server.max_payload_bytes", s.MaxPayloadBytes, 1, 1<<30)
	l.atLeast("server.max_events_per_request", s.MaxEventsPerRequest, 1)
	l.between("server.max_depth", s.MaxDepth, 1, 1024)
	l.atLeast("server.max_header_bytes", s.MaxHeaderBytes, 1024)
	if s.Shards < 0 {
		l.invalid("server.shards", "must be 0 (one shard per CPU) or more")
	}
	l.atLeast("server.queue_size", s.QueueSize, 2)
	if payloadOK && s.MaxQueueBytes < s.MaxPayloadBytes {
		l.invalid("server.max_queue_bytes", fmt.Sprintf("must be at least server.max_payload_bytes (%d), or a full-size request could never be queued", s.MaxPayloadBytes))
	}
	l.positive("server.read_timeout", s.ReadTimeout)
	l.positive("server.write_timeout", s.WriteTimeout)
	l.positive("server.idle_timeout", s.IdleTimeout)
	l.positive("server.grace_period", s.GracePeriod)
	l.ackMode("server.ack", s.Ack)
	l.positive("server.ack_timeout", s.AckTimeout)
	if d := *s.WAL.CommitDelay; d < 0 || d > time.Second {
		l.invalid("server.wal.commit_delay", "must be between 0 (off) and 1s")
	}
	if s.WAL.CommitSiblings < 1 {
		l.invalid("server.wal.commit_siblings", "must be at least 1")
	}
	if s.WAL.SegmentBytes < 1<<20 {
		l.invalid("server.wal.segment_bytes", "must be at least 1048576 (1 MiB)")
	} else if s.WAL.MaxBytes < 2*s.WAL.SegmentBytes {
		l.invalid("server.wal.max_bytes", fmt.Sprintf("must be at least two segments (2 x segment_bytes = %d)", 2*s.WAL.SegmentBytes))
	}
}

func (l *loader) checkTokens(tokens []Token, streamIDs map[string]bool) {
	if len(tokens) == 0 {
		l.invalid("tokens", "at least one token is required")
	}
	names := make(map[string]string, len(tokens))
	hashes := make(map[[32]byte]string, len(tokens))
	for i := range tokens {
		t := &tokens[i]
		key := index("tokens", i)
		if t.Name == "" {
			l.invalid(key+".name", "required")
		} else {
			l.unique(key+".name", t.Name, names)
		}
		if hash, ok := l.secret(key+".token", t.Secret); ok {
			if first, dup := hashes[hash]; dup {
				l.invalid(key+".token", "same token as "+first+"; every token must be different")
			}
			hashes[hash] = key
			t.Hash = hash
		}
		t.Secret = ""
		if len(t.Streams) == 0 {
			l.invalid(key+".streams", `required; list stream ids, or "*" for every stream`)
		}
		for j, id := range t.Streams {
			if id != "*" && !streamIDs[id] {
				l.invalid(index(key+".streams", j), fmt.Sprintf("no stream has id %q", id))
			}
		}
		l.checkRateLimit(key+".rate_limit", t.RateLimit)
	}
}

// secret checks a token's value and returns its SHA-256. The value never goes into a message.
func (l *loader) secret(key, secret string) ([32]byte, bool) {
	var hash [32]byte
	if secret == "" {
		l.invalid(key, "required")
		return hash, false
	}
	if digits, ok := strings.CutPrefix(secret, "sha256:"); ok {
		if len(digits) == 2*len(hash) {
			if _, err := hex.Decode(hash[:], []byte(digits)); err == nil {
				return hash, true
			}
		}
		l.invalid(key, "sha256: must be followed by exactly 64 hex digits, the SHA-256 of the token")
		return hash, false
	}
	if utf8.RuneCountInString(secret) < 16 {
		l.invalid(key, "too short; a token needs at least 16 characters (or give sha256:<hex> of it)")
		return hash, false
	}
	return sha256.Sum256([]byte(secret)), true
}

func (l *loader) checkStreams(streams []Stream, sinkNames map[string]bool) {
	if len(streams) == 0 {
		l.invalid("streams", "at least one stream is required")
	}
	ids := make(map[string]string, len(streams))
	names := make(map[string]string, len(streams))
	keys := make(map[string]int, len(streams))
	for i := range streams {
		s := &streams[i]
		key := index("streams", i)
		switch {
		case s.ID == "":
			l.invalid(key+".id", "required")
		case !validName(s.ID, 128, true):
			l.invalid(key+".id", "must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")
		default:
			l.unique(key+".id", s.ID, ids)
		}
		if s.Name != "" {
			if validName(s.Name, 64, false) {
				l.unique(key+".name", s.Name, names)
			} else {
				l.invalid(key+".name", "must be 1 to 64 characters from A-Z a-z 0-9 . _ -")
			}
		}
		// A stream is known by its name, or by its id when unnamed; a clash between two names
		// or two ids is reported above, a clash between a name and an id here.
		k := s.Key()
		if j, seen := keys[k]; !seen {
			keys[k] = i
		} else if (s.Name == "") != (streams[j].Name == "") {
			field := ".name"
			if s.Name == "" {
				field = ".id"
			}
			l.invalid(key+field, fmt.Sprintf("%q is also the name or id of %s; metrics and sink paths tell streams apart by name (or id when unnamed)", k, index("streams", j)))
		}
		l.checkRateLimit(key+".rate_limit", s.RateLimit)
		if s.Ack != "" {
			l.ackMode(key+".ack", s.Ack)
		}
		l.checkPipeline(key, s, sinkNames)
	}
}

func (l *loader) checkSinks(list []Sink) {
	names := make(map[string]string, len(list))
	for i := range list {
		s := &list[i]
		key := index("sinks", i)
		switch {
		case s.Name == "":
			l.invalid(key+".name", "required")
		case !validName(s.Name, math.MaxInt, false):
			l.invalid(key+".name", "must use only A-Z a-z 0-9 . _ -")
		default:
			l.unique(key+".name", s.Name, names)
		}
		if s.Type == "" {
			l.invalid(key+".type", "required; registered types: "+registeredTypes())
		} else if _, ok := sinks.Lookup(s.Type); !ok {
			l.invalid(key+".type", fmt.Sprintf("unknown sink type %q; registered types: %s", s.Type, registeredTypes()))
		}
		l.atLeast(key+".batch.max_events", s.Batch.MaxEvents, 1)
		l.atLeast(key+".batch.max_bytes", s.Batch.MaxBytes, 1024)
		l.positive(key+".batch.max_age", s.Batch.MaxAge)
		l.atLeast(key+".buffer.max_batches", s.Buffer.MaxBatches, 1)
		if s.Buffer.WhenFull != WhenFullBlock && s.Buffer.WhenFull != WhenFullDropNewest {
			l.invalid(key+".buffer.when_full", fmt.Sprintf("must be %q or %q, not %q", WhenFullBlock, WhenFullDropNewest, s.Buffer.WhenFull))
		}
		l.positive(key+".retry.initial_backoff", s.Retry.InitialBackoff)
		if l.positive(key+".retry.max_backoff", s.Retry.MaxBackoff); s.Retry.MaxBackoff < s.Retry.InitialBackoff {
			l.invalid(key+".retry.max_backoff", fmt.Sprintf("must be at least initial_backoff (%v)", s.Retry.InitialBackoff))
		}
		if s.Options != nil {
			for _, fe := range s.Options.Validate() {
				l.invalid(join(key, fe.Key), fe.Msg)
			}
		}
	}
}

func (l *loader) ackMode(key, mode string) {
	if mode != AckMemory && mode != AckDisk && mode != AckDelivered {
		l.invalid(key, fmt.Sprintf("must be %q, %q or %q, not %q", AckMemory, AckDisk, AckDelivered, mode))
	}
}

// UsesWAL reports whether some stream acknowledges with ack: disk, so the engine must keep a
// write-ahead log.
func (c *Config) UsesWAL() bool {
	for _, s := range c.Streams {
		if s.Ack == AckDisk || s.Ack == "" && c.Server.Ack == AckDisk {
			return true
		}
	}
	return false
}

func (l *loader) checkRateLimit(key string, rl *RateLimit) {
	if rl == nil {
		return
	}
	if !(rl.EventsPerSecond > 0) {
		l.invalid(key+".events_per_second", "must be greater than 0")
	}
	if rl.Burst < 0 {
		l.invalid(key+".burst", "must be 0 (one second's worth of events) or more")
	}
}

// unique reports name if an earlier entry has it; seen maps names to the key that used them.
func (l *loader) unique(key, name string, seen map[string]string) {
	if first, dup := seen[name]; dup {
		l.invalid(key, fmt.Sprintf("duplicate %q; first used on line %d", name, l.lineOf(first)))
		return
	}
	seen[name] = key
}

func (l *loader) atLeast(key string, v, lo int) {
	if v < lo {
		l.invalid(key, fmt.Sprintf("must be at least %d", lo))
	}
}

func (l *loader) between(key string, v, lo, hi int) bool {
	if v < lo || v > hi {
		l.invalid(key, fmt.Sprintf("must be from %d to %d", lo, hi))
		return false
	}
	return true
}

func (l *loader) positive(key string, d time.Duration) {
	if d <= 0 {
		l.invalid(key, `must be greater than 0, such as "1s"`)
	}
}

// validName reports whether s is 1 to maxLen characters of A-Z a-z 0-9 . _ - (and : if colon).
func validName(s string, maxLen int, colon bool) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || colon && c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func registeredTypes() string { return typeList(sinks.Types()) }

func typeList(types []string) string {
	if len(types) == 0 {
		return "none (the binary was built without sinks)"
	}
	return strings.Join(types, ", ")
}
