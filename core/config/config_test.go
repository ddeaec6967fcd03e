package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

var (
	defaultBuffer     = Buffer{MaxBatches: DefaultBufferMaxBatches, WhenFull: DefaultWhenFull}
	defaultRetry      = Retry{InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff}
	defaultDeadLetter = DeadLetter{Dir: DefaultDeadLetterDir}
	defaultDelay      = DefaultWALCommitDelay
	defaultWAL        = WAL{Dir: DefaultWALDir, MaxBytes: DefaultWALMaxBytes, SegmentBytes: DefaultWALSegmentBytes,
		CommitDelay: &defaultDelay, CommitSiblings: DefaultWALCommitSiblings}
)

// testOptions stands in for a real sink type's options: defaults preset by NewOptions, nested
// keys, and a Validate whose keys are relative to the sink entry.
type testOptions struct {
	Path     string            `yaml:"path"`
	Headers  map[string]string `yaml:"headers"`
	Attempts testAttempts      `yaml:"attempts"`
	Compress bool              `yaml:"compress"`
}

type testAttempts struct {
	Max int `yaml:"max"`
}

func (o *testOptions) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	if o.Path == "" {
		errs = append(errs, sinks.FieldError{Key: "path", Msg: "required"})
	}
	if o.Attempts.Max < 0 {
		errs = append(errs, sinks.FieldError{Key: "attempts.max", Msg: "must be 0 or more"})
	}
	return errs
}

// fileOptions stands in for the real "file" sink, which Default needs.
type fileOptions struct {
	Path string `yaml:"path"`
}

func (o *fileOptions) Validate() []sinks.FieldError { return nil }

func newNothing(string, sinks.Options) (sinks.Sink, error) {
	return nil, errors.New("test sink types only decode options")
}

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "test",
		NewOptions: func() sinks.Options { return &testOptions{Attempts: testAttempts{Max: 3}} },
		New:        newNothing,
	})
	sinks.MustRegister(sinks.Registration{
		Type:       "file",
		NewOptions: func() sinks.Options { return &fileOptions{} },
		New:        newNothing,
	})
	// A registration that breaks the contract, to check the loader reports it.
	sinks.MustRegister(sinks.Registration{
		Type:       "broken",
		NewOptions: func() sinks.Options { return nil },
		New:        newNothing,
	})
}

func TestParseFull(t *testing.T) {
	t.Setenv("CONFIG_TEST_LISTEN", "0.0.0.0:9090")
	t.Setenv("CONFIG_TEST_PAYMENTS_TOKEN", "pay-0123456789abcdef")
	t.Setenv("CONFIG_TEST_SINK_TYPE", "test")
	t.Setenv("CONFIG_TEST_TEAM", "billing")
	cfg, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	adminHash, _ := hex.DecodeString("a7cd7d05af04b66c8920d7fa96841f5c084c569f171ef670f48e2524708c367f")
	batch := Batch{MaxEvents: 10000, MaxBytes: 4194304, MaxAge: 250 * time.Millisecond}
	want := &Config{
		File: "testdata/full.yaml",
		Server: Server{
			Listen:              "0.0.0.0:9090",
			MaxPayloadBytes:     2097152,
			MaxEventsPerRequest: 500,
			MaxDepth:            32,
			MaxHeaderBytes:      4096,
			Shards:              4,
			QueueSize:           1024,
			MaxQueueBytes:       64 << 20,
			ReadTimeout:         5 * time.Second,
			WriteTimeout:        90 * time.Second,
			IdleTimeout:         2 * time.Minute,
			GracePeriod:         DefaultGracePeriod,
			Ack:                 DefaultAck,
			AckTimeout:          DefaultAckTimeout,
			WAL:                 defaultWAL,
		},
		Tokens: []Token{
			{
				Name:      "payments-ingest",
				Streams:   []string{DefaultStreamID},
				ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
				RateLimit: &RateLimit{EventsPerSecond: 50000, Burst: 100000},
				Hash:      sha256.Sum256([]byte("pay-0123456789abcdef")),
			},
			{
				Name:      "admin",
				Streams:   []string{"*"},
				RateLimit: &RateLimit{EventsPerSecond: 10.5, Burst: 11},
				Hash:      [32]byte(adminHash),
			},
		},
		Streams: []Stream{
			{
				ID:        DefaultStreamID,
				Name:      "payments",
				RateLimit: &RateLimit{EventsPerSecond: 200000, Burst: 400000},
				Sinks:     []string{"local", "audit"},
			},
			{ID: "orders:v2", Sinks: []string{"local"}},
		},
		Sinks: []Sink{
			{
				Name:       "local",
				Type:       "test",
				Batch:      batch,
				Buffer:     Buffer{MaxBatches: 8, WhenFull: WhenFullDropNewest},
				Retry:      Retry{InitialBackoff: time.Second, MaxBackoff: time.Minute},
				DeadLetter: DeadLetter{Dir: "/var/lib/ingestd/dlq"},
				Options:    &testOptions{Path: "./data/{stream}/events-{date}.ndjson", Attempts: testAttempts{Max: 3}},
			},
			{
				Name:       "audit",
				Type:       "test",
				Batch:      batch,
				Buffer:     defaultBuffer,
				Retry:      defaultRetry,
				DeadLetter: defaultDeadLetter,
				Options: &testOptions{
					Path:     "/var/log/${HOME}/audit-$5",
					Headers:  map[string]string{"x-team": "billing", "x-env": "prod"},
					Compress: true,
				},
			},
			{
				Name:       "spare",
				Type:       "test",
				Batch:      Batch{MaxEvents: DefaultBatchMaxEvents, MaxBytes: DefaultBatchMaxBytes, MaxAge: DefaultBatchMaxAge},
				Buffer:     defaultBuffer,
				Retry:      defaultRetry,
				DeadLetter: defaultDeadLetter,
				Options:    &testOptions{Path: "spare.ndjson", Attempts: testAttempts{Max: 3}},
			},
		},
	}
	for i := range cfg.Streams {
		p := cfg.Streams[i].Pipeline
		if p == nil || !slices.Equal(p.Sinks(), want.Streams[i].Sinks) || len(p.Routes()) != 0 || !p.Plain() {
			t.Fatalf("streams[%d]: the pipeline is not the sinks shorthand: %+v", i, p)
		}
		cfg.Streams[i].Pipeline = nil
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("Load:\n got %+v\nwant %+v", cfg, want)
	}
	for _, tok := range cfg.Tokens {
		if tok.Secret != "" {
			t.Fatalf("token %q kept its secret", tok.Name)
		}
	}
	if got := cfg.Streams[0].Key(); got != "payments" {
		t.Fatalf("Key() of a named stream = %q, want its name", got)
	}
	if got := cfg.Streams[1].Key(); got != "orders:v2" {
		t.Fatalf("Key() of an unnamed stream = %q, want its id", got)
	}
}

// Base sections of a small valid config, one line each, so a case can add or swap a line and
// know its number.
const (
	okTokens  = "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\n"
	okStreams = "streams: [{id: s1, sinks: [out]}]\n"
	okSinks   = "sinks: [{name: out, type: test, path: p}]\n"
	ok        = okTokens + okStreams + okSinks
)

// An explicit commit_delay of 0s turns the wait off rather than falling back to the default.
func TestCommitDelayOff(t *testing.T) {
	cfg, err := Parse([]byte(ok+"server: {wal: {commit_delay: 0s}}\n"), "t.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d := cfg.Server.WAL.CommitDelay; d == nil || *d != 0 {
		t.Fatalf("commit_delay: 0s decoded as %v, want 0", d)
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(ok+"server: {shards: 0}\n"), "t.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wantServer := Server{
		Listen:              DefaultListen,
		MaxPayloadBytes:     DefaultMaxPayloadBytes,
		MaxEventsPerRequest: DefaultMaxEventsPerRequest,
		MaxDepth:            DefaultMaxDepth,
		MaxHeaderBytes:      DefaultMaxHeaderBytes,
		QueueSize:           DefaultQueueSize,
		MaxQueueBytes:       DefaultMaxQueueBytes,
		ReadTimeout:         DefaultReadTimeout,
		WriteTimeout:        DefaultWriteTimeout,
		IdleTimeout:         DefaultIdleTimeout,
		GracePeriod:         DefaultGracePeriod,
		Ack:                 DefaultAck,
		AckTimeout:          DefaultAckTimeout,
		WAL:                 defaultWAL,
	}
	if !reflect.DeepEqual(cfg.Server, wantServer) {
		t.Fatalf("server defaults:\n got %+v\nwant %+v", cfg.Server, wantServer)
	}
	wantBatch := Batch{MaxEvents: DefaultBatchMaxEvents, MaxBytes: DefaultBatchMaxBytes, MaxAge: DefaultBatchMaxAge}
	if cfg.Sinks[0].Batch != wantBatch {
		t.Fatalf("batch defaults: got %+v, want %+v", cfg.Sinks[0].Batch, wantBatch)
	}

	f := func(eps float64, wantBurst int) {
		t.Helper()
		rl := &RateLimit{EventsPerSecond: eps}
		defaultBurst(rl)
		if rl.Burst != wantBurst {
			t.Fatalf("default burst for %v events/s = %d, want %d", eps, rl.Burst, wantBurst)
		}
	}
	f(1, 1)
	f(0.2, 1)
	f(1000.001, 1001)
	f(1e300, maxBurst)
	f(0, 0) // invalid rate: left for the check to report
}

func TestParseInvalid(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		cfg, err := Parse([]byte(doc), "t.yaml")
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("Parse(%q) = %v, %v; want Errors", doc, cfg, err)
		}
		if cfg != nil {
			t.Fatalf("Parse(%q) returned a config with errors", doc)
		}
		got := make([]string, len(errs))
		for i, e := range errs {
			got[i] = e.Error()
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) errors:\n got %q\nwant %q", doc, got, want)
		}
	}

	// The file as a whole.
	f("", "t.yaml:1: the file is empty; a config needs at least tokens, streams and sinks")
	f("# nothing\n---\n", "t.yaml:1: the file is empty; a config needs at least tokens, streams and sinks")
	f("- tokens\n", "t.yaml:1: the top level must be a mapping with the keys server, tokens, streams and sinks; got a list")
	f(ok+"server:\n  listen: [\n", "t.yaml:5: invalid YAML: did not find expected node content")
	f(ok+"\tserver: {}\n", "t.yaml:4: invalid YAML: found character that cannot start any token")
	f(ok+"---\n"+ok, `t.yaml:4: only one YAML document is allowed; remove this "---" and what follows`)
	f(ok+"---\nserver: [\n", "t.yaml:5: invalid YAML: did not find expected node content")

	// Keys and types.
	f(ok+"extra: 1\n", "t.yaml:4: extra: unknown key; known keys: server, tokens, streams, sinks")
	f(ok+"server: {port: 80}\n",
		"t.yaml:4: server.port: unknown key; known keys: listen, max_payload_bytes, max_events_per_request, "+
			"max_depth, max_header_bytes, shards, queue_size, max_queue_bytes, read_timeout, write_timeout, idle_timeout, grace_period, ack, ack_timeout, wal")
	f(ok+"server: {}\nserver: {}\n", "t.yaml:5: server: duplicate key; first set on line 4")
	f(ok+"server: {[a]: 1}\n", "t.yaml:4: server: a key must be a plain name, got a list")
	f(ok+"server: 80\n", `t.yaml:4: server: expected a mapping, got "80"`)
	// The YAML library gives no line for this one; the message names the alias instead.
	f(ok+"server: *x\n", "t.yaml:1: invalid YAML: unknown anchor 'x' referenced")
	f("tokens: [{name: t, token: 0123456789abcdef, streams: '*'}]\n"+okStreams+okSinks,
		`t.yaml:1: tokens[0].streams: expected a list, got "*"`)
	f(okTokens+"streams: [{id: {a: b}, sinks: [out]}]\n"+okSinks, "t.yaml:2: streams[0].id: expected a string, got a mapping")
	f(ok+"server: {max_depth: deep}\n", `t.yaml:4: server.max_depth: expected an integer, got "deep"`)
	f(ok+"server: {max_depth: 99999999999999999999}\n", "t.yaml:4: server.max_depth: 99999999999999999999 is out of range for 64-bit integers")
	f(okTokens+"streams: [{id: s1, sinks: [out], rate_limit: {events_per_second: fast}}]\n"+okSinks,
		`t.yaml:2: streams[0].rate_limit.events_per_second: expected a number, got "fast"`)
	f(okTokens+"streams: [{id: s1, sinks: [out], rate_limit: {events_per_second: inf}}]\n"+okSinks,
		`t.yaml:2: streams[0].rate_limit.events_per_second: expected a number, got "inf"`)
	f(ok+"server: {read_timeout: 5}\n", `t.yaml:4: server.read_timeout: 5 has no unit; write a duration such as "5s" or "500ms"`)
	f(ok+"server: {read_timeout: soon}\n", `t.yaml:4: server.read_timeout: expected a duration such as "1s" or "500ms", got "soon"`)
	f("tokens: [{name: t, token: 0123456789abcdef, streams: ['*'], expires_at: 2027-01-01}]\n"+okStreams+okSinks,
		`t.yaml:1: tokens[0].expires_at: expected an RFC 3339 time such as "2027-01-01T00:00:00Z", got "2027-01-01"`)
	f(okTokens+okStreams+"sinks: [{name: out, type: test, path: p, compress: maybe}]\n",
		`t.yaml:3: sinks[0].compress: expected true or false, got "maybe"`)

	// ${VAR} substitution; a value that failed to decode is not reported again by the checks.
	f("tokens: [{name: t, token: '${CONFIG_TEST_UNSET}', streams: ['*']}]\n"+okStreams+okSinks,
		"t.yaml:1: tokens[0].token: environment variable CONFIG_TEST_UNSET is not set")
	f(ok+"server: {listen: '${ADDR'}\n", "t.yaml:4: server.listen: unterminated ${ (write $$ for a literal $)")
	f(ok+"server: {listen: '${1ADDR}'}\n", `t.yaml:4: server.listen: invalid environment variable name "1ADDR"; use letters, digits and _`)

	// server
	f(ok+"server: {listen: localhost}\n", `t.yaml:4: server.listen: must be host:port, such as "127.0.0.1:8080" or ":8080"`)
	f(ok+"server: {listen: 'localhost:http'}\n", `t.yaml:4: server.listen: port "http" must be a number from 0 to 65535`)
	f(ok+"server: {listen: ':65536'}\n", `t.yaml:4: server.listen: port "65536" must be a number from 0 to 65535`)
	f(ok+"server: {max_payload_bytes: -1}\n", "t.yaml:4: server.max_payload_bytes: must be from 1 to 1073741824")
	f(ok+"server: {max_payload_bytes: 1073741825}\n", "t.yaml:4: server.max_payload_bytes: must be from 1 to 1073741824")
	f(ok+"server: {max_events_per_request: -5}\n", "t.yaml:4: server.max_events_per_request: must be at least 1")
	f(ok+"server: {max_depth: 1025}\n", "t.yaml:4: server.max_depth: must be from 1 to 1024")
	f(ok+"server: {max_header_bytes: 1023}\n", "t.yaml:4: server.max_header_bytes: must be at least 1024")
	f(ok+"server: {shards: -1}\n", "t.yaml:4: server.shards: must be 0 (one shard per CPU) or more")
	f(ok+"server: {queue_size: 1}\n", "t.yaml:4: server.queue_size: must be at least 2")
	f(ok+"server: {max_queue_bytes: 1048575}\n",
		"t.yaml:4: server.max_queue_bytes: must be at least server.max_payload_bytes (1048576), or a full-size request could never be queued")
	f(ok+"server:\n  read_timeout: -1s\n  write_timeout: -1s\n  idle_timeout: -1ms\n  grace_period: -1h\n",
		`t.yaml:5: server.read_timeout: must be greater than 0, such as "1s"`,
		`t.yaml:6: server.write_timeout: must be greater than 0, such as "1s"`,
		`t.yaml:7: server.idle_timeout: must be greater than 0, such as "1s"`,
		`t.yaml:8: server.grace_period: must be greater than 0, such as "1s"`)
	f(ok+"server: {wal: {segment_bytes: 1000}}\n", "t.yaml:4: server.wal.segment_bytes: must be at least 1048576 (1 MiB)")
	f(ok+"server:\n  wal: {commit_delay: 2s, commit_siblings: -1}\n",
		"t.yaml:5: server.wal.commit_delay: must be between 0 (off) and 1s",
		"t.yaml:5: server.wal.commit_siblings: must be at least 1")
	f(ok+"server: {wal: {commit_delay: -1ms}}\n", "t.yaml:4: server.wal.commit_delay: must be between 0 (off) and 1s")

	// tokens
	f(okStreams+okSinks, "t.yaml:1: tokens: at least one token is required")
	f(ok+"tokens: []\n", "t.yaml:4: tokens: duplicate key; first set on line 1")
	f(okStreams+okSinks+"tokens: []\n", "t.yaml:3: tokens: at least one token is required")
	f("tokens: [{token: 0123456789abcdef, streams: ['*']}]\n"+okStreams+okSinks, "t.yaml:1: tokens[0].name: required")
	f("tokens:\n- {name: t, token: 0123456789abcdef, streams: ['*']}\n- {name: t, token: 0123456789abcdeg, streams: ['*']}\n"+okStreams+okSinks,
		`t.yaml:3: tokens[1].name: duplicate "t"; first used on line 2`)
	f("tokens: [{name: t, streams: ['*']}]\n"+okStreams+okSinks, "t.yaml:1: tokens[0].token: required")
	f("tokens: [{name: t, token: secret, streams: ['*']}]\n"+okStreams+okSinks,
		"t.yaml:1: tokens[0].token: too short; a token needs at least 16 characters (or give sha256:<hex> of it)")
	f("tokens: [{name: t, token: 'sha256:abc', streams: ['*']}]\n"+okStreams+okSinks,
		"t.yaml:1: tokens[0].token: sha256: must be followed by exactly 64 hex digits, the SHA-256 of the token")
	f("tokens: [{name: t, token: 'sha256:"+strings.Repeat("g", 64)+"', streams: ['*']}]\n"+okStreams+okSinks,
		"t.yaml:1: tokens[0].token: sha256: must be followed by exactly 64 hex digits, the SHA-256 of the token")
	sum := sha256.Sum256([]byte("0123456789abcdef"))
	f("tokens:\n- {name: a, token: 0123456789abcdef, streams: ['*']}\n- {name: b, token: 'sha256:"+hex.EncodeToString(sum[:])+"', streams: ['*']}\n"+okStreams+okSinks,
		"t.yaml:3: tokens[1].token: same token as tokens[0]; every token must be different")
	f("tokens: [{name: t, token: 0123456789abcdef}]\n"+okStreams+okSinks,
		`t.yaml:1: tokens[0].streams: required; list stream ids, or "*" for every stream`)
	f("tokens:\n- name: t\n  token: 0123456789abcdef\n  streams:\n  - s1\n  - s2\n"+okStreams+okSinks,
		`t.yaml:6: tokens[0].streams[1]: no stream has id "s2"`)
	f("tokens: [{name: t, token: 0123456789abcdef, streams: ['*'], rate_limit: {burst: -1}}]\n"+okStreams+okSinks,
		"t.yaml:1: tokens[0].rate_limit.events_per_second: must be greater than 0",
		"t.yaml:1: tokens[0].rate_limit.burst: must be 0 (one second's worth of events) or more")

	// streams
	f(okTokens+okSinks, "t.yaml:1: streams: at least one stream is required")
	f(okTokens+okSinks+"streams: []\n", "t.yaml:3: streams: at least one stream is required")
	f(okTokens+"streams: [{sinks: [out]}]\n"+okSinks, "t.yaml:2: streams[0].id: required")
	f(okTokens+"streams: [{id: 's 1', sinks: [out]}]\n"+okSinks,
		"t.yaml:2: streams[0].id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")
	f(okTokens+"streams: [{id: "+strings.Repeat("a", 129)+", sinks: [out]}]\n"+okSinks,
		"t.yaml:2: streams[0].id: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")
	f(okTokens+"streams:\n- {id: s1, sinks: [out]}\n- {id: s1, name: other, sinks: [out]}\n"+okSinks,
		`t.yaml:4: streams[1].id: duplicate "s1"; first used on line 3`)
	f(okTokens+"streams: [{id: s1, name: 'a:b', sinks: [out]}]\n"+okSinks,
		"t.yaml:2: streams[0].name: must be 1 to 64 characters from A-Z a-z 0-9 . _ -")
	f(okTokens+"streams:\n- {id: s1, name: n, sinks: [out]}\n- {id: s2, name: n, sinks: [out]}\n"+okSinks,
		`t.yaml:4: streams[1].name: duplicate "n"; first used on line 3`)
	f(okTokens+"streams:\n- {id: s1, sinks: [out]}\n- {id: s2, name: s1, sinks: [out]}\n"+okSinks,
		`t.yaml:4: streams[1].name: "s1" is also the name or id of streams[0]; metrics and sink paths tell streams apart by name (or id when unnamed)`)
	f(okTokens+"streams:\n- {id: s1, name: s2, sinks: [out]}\n- {id: s2, sinks: [out]}\n"+okSinks,
		`t.yaml:4: streams[1].id: "s2" is also the name or id of streams[0]; metrics and sink paths tell streams apart by name (or id when unnamed)`)
	f(okTokens+"streams: [{id: s1}]\n"+okSinks,
		"t.yaml:2: streams[0].sinks: required: list the sinks that receive this stream's events, or give routes and default")
	f(okTokens+"streams: [{id: s1, sinks: [out, nowhere]}]\n"+okSinks, `t.yaml:2: streams[0].sinks[1]: no sink is named "nowhere"`)
	f(okTokens+"streams: [{id: s1, sinks: [out], rate_limit: {events_per_second: -1, burst: -1}}]\n"+okSinks,
		"t.yaml:2: streams[0].rate_limit.events_per_second: must be greater than 0",
		"t.yaml:2: streams[0].rate_limit.burst: must be 0 (one second's worth of events) or more")

	// sinks
	f(okTokens+okStreams+"sinks: [{name: out, type: test, path: p}, {type: test, path: p}]\n", "t.yaml:3: sinks[1].name: required")
	f(okTokens+okStreams+"sinks: [{name: out, type: test, path: p}, {name: 'a/b', type: test, path: p}]\n",
		"t.yaml:3: sinks[1].name: must use only A-Z a-z 0-9 . _ -")
	f(okTokens+okStreams+"sinks:\n- {name: out, type: test, path: p}\n- {name: out, type: test, path: p}\n",
		`t.yaml:5: sinks[1].name: duplicate "out"; first used on line 4`)
	f(okTokens+okStreams+"sinks: [{name: out, path: p}]\n", "t.yaml:3: sinks[0].type: required; registered types: broken, file, test")
	f(okTokens+okStreams+"sinks: [{name: out, type: kafka, brokers: [a]}]\n",
		`t.yaml:3: sinks[0].type: unknown sink type "kafka"; registered types: broken, file, test`)
	f(okTokens+okStreams+"sinks: [{name: out, type: broken}]\n",
		`t.yaml:3: sinks[0].type: sink type "broken" is registered without an options struct pointer; this is a bug in ingestd`)
	f(okTokens+okStreams+"sinks:\n- name: out\n  type: test\n  path: p\n  batch: {max_events: -1, max_bytes: 1023, max_age: -1s}\n",
		"t.yaml:7: sinks[0].batch.max_events: must be at least 1",
		"t.yaml:7: sinks[0].batch.max_bytes: must be at least 1024",
		`t.yaml:7: sinks[0].batch.max_age: must be greater than 0, such as "1s"`)

	f(okTokens+okStreams+"sinks: [out]\n", `t.yaml:2: streams[0].sinks[0]: no sink is named "out"`, `t.yaml:3: sinks[0]: expected a mapping, got "out"`)
	f(okTokens+okStreams+"sinks: [{name: out, type: [test], path: p}]\n", "t.yaml:3: sinks[0].type: expected a string, got a list")
	f(okTokens+okStreams+"sinks: [{name: out, type: '${CONFIG_TEST_UNSET}', path: p}]\n",
		"t.yaml:3: sinks[0].type: environment variable CONFIG_TEST_UNSET is not set")

	// The sink type's own options: unknown keys, and Validate's keys mapped to lines.
	f(okTokens+okStreams+"sinks:\n- name: out\n  type: test\n  path: p\n  rotate: daily\n",
		"t.yaml:7: sinks[0].rotate: unknown key; known keys: name, type, batch, buffer, retry, dead_letter, path, headers, attempts, compress")
	f(okTokens+okStreams+"sinks:\n- name: out\n  type: test\n  attempts:\n    max: -1\n",
		"t.yaml:4: sinks[0].path: required",
		"t.yaml:7: sinks[0].attempts.max: must be 0 or more")
	f(okTokens+okStreams+"sinks:\n- name: out\n  type: test\n  path: p\n  headers: {a: 1, a: 2}\n",
		"t.yaml:7: sinks[0].headers.a: duplicate key; first set on line 7")
}

func TestParseManyMistakes(t *testing.T) {
	_, err := Load("testdata/mistakes.yaml")
	want := strings.Join([]string{
		"testdata/mistakes.yaml:4: server.max_depth: must be from 1 to 1024",
		"testdata/mistakes.yaml:5: server.read_timeout: 10 has no unit; write a duration such as \"10s\" or \"500ms\"",
		"testdata/mistakes.yaml:8: tokens[0].token: too short; a token needs at least 16 characters (or give sha256:<hex> of it)",
		"testdata/mistakes.yaml:9: tokens[0].streams[0]: no stream has id \"payment\"",
		"testdata/mistakes.yaml:12: streams[0].rate_limit.burst: must be 0 (one second's worth of events) or more",
		"testdata/mistakes.yaml:13: streams[0].sinks[0]: no sink is named \"locl\"",
		"testdata/mistakes.yaml:14: streams[0].colour: unknown key; known keys: id, name, rate_limit, sinks, processors, routes, default, ack",
		"testdata/mistakes.yaml:16: sinks[0].5: unknown key; known keys: name, type, batch, buffer, retry, dead_letter, path, headers, attempts, compress",
		"testdata/mistakes.yaml:16: sinks[0].path: required",
	}, "\n")
	var errs Errors
	if !errors.As(err, &errs) || err.Error() != want {
		t.Fatalf("Load errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestDefault(t *testing.T) {
	f := func(token string) {
		t.Helper()
		cfg, got, err := Default()
		if err != nil {
			t.Fatalf("Default: %v", err)
		}
		if token != "" && got != token {
			t.Fatalf("Default token = %q, want $INGESTD_TOKEN %q", got, token)
		}
		if cfg.File != DefaultFile || cfg.Server.Listen != "127.0.0.1:8080" {
			t.Fatalf("Default: file %q, listen %q", cfg.File, cfg.Server.Listen)
		}
		tok := cfg.Tokens[0]
		if tok.Name != "default" || tok.Secret != "" || tok.Hash != sha256.Sum256([]byte(got)) ||
			!reflect.DeepEqual(tok.Streams, []string{"*"}) {
			t.Fatalf("Default token entry = %+v", tok)
		}
		s := cfg.Streams[0]
		if s.ID != DefaultStreamID || s.Name != "default" || !reflect.DeepEqual(s.Sinks, []string{"local"}) {
			t.Fatalf("Default stream = %+v", s)
		}
		sink := cfg.Sinks[0]
		wantBatch := Batch{MaxEvents: 10000, MaxBytes: 4194304, MaxAge: time.Second}
		if sink.Name != "local" || sink.Type != "file" || sink.Batch != wantBatch ||
			sink.Options.(*fileOptions).Path != "./data/{stream}/events-{date}.ndjson" {
			t.Fatalf("Default sink = %+v", sink)
		}
	}
	t.Setenv("INGESTD_TOKEN", "from-the-environment-0123")
	f("from-the-environment-0123")

	os.Unsetenv("INGESTD_TOKEN") // t.Setenv restores it after the test
	f("")
	_, a, _ := Default()
	_, b, _ := Default()
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Fatalf("random default tokens %q and %q: want two different 64-digit hex strings", a, b)
	}

	t.Setenv("INGESTD_TOKEN", "short")
	_, tok, err := Default()
	want := "<embedded>:7: tokens[0].token: too short; a token needs at least 16 characters (or give sha256:<hex> of it)"
	if err == nil || err.Error() != want || tok != "" {
		t.Fatalf("Default with a short $INGESTD_TOKEN = %q, %v; want error %q", tok, err, want)
	}
}

func TestSinkDeliverySettings(t *testing.T) {
	head := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\nstreams: [{id: s1, sinks: [out]}]\n"
	_, err := Parse([]byte(head+`sinks:
  - name: out
    type: test
    path: p
    buffer: {max_batches: -1, when_full: wait}
    retry: {initial_backoff: 2s, max_backoff: 1s}
`), "t.yaml")
	want := strings.Join([]string{
		`t.yaml:7: sinks[0].buffer.max_batches: must be at least 1`,
		`t.yaml:7: sinks[0].buffer.when_full: must be "block" or "drop_newest", not "wait"`,
		`t.yaml:8: sinks[0].retry.max_backoff: must be at least initial_backoff (2s)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
