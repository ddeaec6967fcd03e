package snowflake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// batchOf returns n stored events of shard with the given checkpoint.
func batchOf(n, shard int, checkpoint string) *sinks.Batch {
	var data []byte
	for i := range n {
		data = fmt.Appendf(data, `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":1234.5,"message":"card \"expired\" \u00e9"},"metadata":{"env":"prod"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z","event_id":"0123456789abcdef0123456789abcdef-%d"}`+"\n", i, i)
	}
	return &sinks.Batch{Stream: "pay", StreamID: "s1", Data: data, Events: n, Shard: shard, Checkpoint: checkpoint}
}

func lines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func cp(n int) string { return fmt.Sprintf("00000000000000aa%016x", n) }

func TestRowsArriveIntact(t *testing.T) {
	for _, comp := range []string{CompressionGzip, CompressionNone} {
		t.Run(comp, func(t *testing.T) {
			f := newFake(t)
			o := f.options()
			o.Compression = comp
			s := f.sink(o)
			b1, b2 := batchOf(300, 2, cp(41)), batchOf(200, 2, cp(42))
			for _, b := range []*sinks.Batch{b1, b2} {
				if err := s.WriteBatch(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			rows, off := f.rowsOf("ingestd-test-2")
			want := append(lines(b1.Data), lines(b2.Data)...)
			if !reflect.DeepEqual(rows, want) {
				t.Fatalf("stored %d rows, want %d identical ones", len(rows), len(want))
			}
			for _, r := range rows[:3] {
				var ev struct {
					Event   struct{ Message string }
					EventID string `json:"event_id"`
				}
				if err := json.Unmarshal([]byte(r), &ev); err != nil || ev.Event.Message != `card "expired" é` || ev.EventID == "" {
					t.Fatalf("row %s: %v %+v", r, err, ev)
				}
			}
			if off != cp(42) {
				t.Fatalf("offset token %q, want %q", off, cp(42))
			}
			if ex, opens, appends := f.counts(); ex != 1 || opens != 1 || appends != 2 {
				t.Fatalf("exchanges %d opens %d appends %d, want 1 1 2", ex, opens, appends)
			}
		})
	}
}

func TestNoCheckpointSendsNoOffsetToken(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	if err := s.WriteBatch(t.Context(), batchOf(3, 0, "")); err != nil {
		t.Fatal(err)
	}
	if rows, off := f.rowsOf("ingestd-test-0"); len(rows) != 3 || off != "" {
		t.Fatalf("rows %d offset %q", len(rows), off)
	}
}

func TestResumeReturnsHighestCheckpoint(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	if got, err := s.Resume(t.Context()); err != nil || got != "" {
		t.Fatalf("Resume on no channels = %q, %v", got, err)
	}
	for _, w := range []struct{ shard, at int }{{0, 10}, {3, 25}, {1, 7}, {63, 3}} {
		if err := s.WriteBatch(t.Context(), batchOf(2, w.shard, cp(w.at))); err != nil {
			t.Fatal(err)
		}
	}
	// Channels Resume must not read: another prefix, a shard past ResumeShards, a foreign token.
	f.mu.Lock()
	for name, tok := range map[string]string{"other-0": cp(99), "ingestd-test-64": cp(98), "ingestd-test-5": "zzzz"} {
		f.channel(name).offset = &tok
	}
	f.mu.Unlock()

	fresh := f.sink(f.options()) // as after a restart
	got, err := fresh.Resume(t.Context())
	if err != nil || got != cp(25) {
		t.Fatalf("Resume = %q, %v; want %q", got, err, cp(25))
	}
}

func TestTokenRenewedOn401(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	if err := s.WriteBatch(t.Context(), batchOf(5, 0, "")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	clear(f.tokens) // the scoped token expired
	f.mu.Unlock()
	if err := s.WriteBatch(t.Context(), batchOf(5, 0, "")); err != nil {
		t.Fatal(err)
	}
	// The fake refuses the stale token before counting an append.
	if ex, _, appends := f.counts(); ex != 2 || appends != 2 {
		t.Fatalf("exchanges %d appends %d, want 2 and 2", ex, appends)
	}
	if rows, _ := f.rowsOf("ingestd-test-0"); len(rows) != 10 {
		t.Fatalf("%d rows", len(rows))
	}
	if len(f.jwtErrs) > 0 {
		t.Fatal(f.jwtErrs)
	}
}

func TestTokenRenewedWhenOld(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	start := time.Now()
	s.now = func() time.Time { return start }
	if err := s.WriteBatch(t.Context(), batchOf(1, 0, "")); err != nil {
		t.Fatal(err)
	}
	if want := start.Add(tokenLifetime); !s.tokenExp.Equal(want) {
		t.Fatalf("token kept until %v, want %v", s.tokenExp, want)
	}
	s.tokenExp = start // the token's lifetime is over
	if err := s.WriteBatch(t.Context(), batchOf(1, 0, "")); err != nil {
		t.Fatal(err)
	}
	if ex, _, _ := f.counts(); ex != 2 {
		t.Fatalf("%d exchanges, want 2", ex)
	}
}

func TestStaleContinuationTokenReopens(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	if err := s.WriteBatch(t.Context(), batchOf(4, 1, cp(1))); err != nil {
		t.Fatal(err)
	}
	// Another writer opened the channel: its sequencer moved and our token is stale.
	f.mu.Lock()
	f.channel("ingestd-test-1").seq++
	f.channel("ingestd-test-1").cont = "someone-else"
	f.mu.Unlock()
	err := s.WriteBatch(t.Context(), batchOf(4, 1, cp(2)))
	if err == nil || !strings.Contains(err.Error(), "STALE_CONTINUATION_TOKEN_SEQUENCER") || !strings.Contains(err.Error(), "reopened") {
		t.Fatalf("err = %v", err)
	}
	if k, _ := sinks.Classify(err); k != sinks.Retryable {
		t.Fatalf("kind %v, want retryable", k)
	}
	if _, opens, _ := f.counts(); opens != 2 {
		t.Fatalf("%d opens, want 2", opens)
	}
	if err := s.WriteBatch(t.Context(), batchOf(4, 1, cp(2))); err != nil {
		t.Fatal(err)
	}
	if rows, off := f.rowsOf("ingestd-test-1"); len(rows) != 8 || off != cp(2) {
		t.Fatalf("rows %d offset %q", len(rows), off)
	}
}

func TestSplitsAt16MB(t *testing.T) {
	f := newFake(t)
	o := f.options()
	o.Compression = CompressionNone
	s := f.sink(o)
	b := batchOf(1, 0, "")
	line := b.Data
	var data []byte
	for len(data) <= MaxRequestBytes+MaxRequestBytes/4 {
		data = append(data, line...)
	}
	b.Data, b.Events = data, bytes.Count(data, []byte{'\n'})
	if err := s.WriteBatch(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	sizes := append([]int(nil), f.bodySizes...)
	f.mu.Unlock()
	if len(sizes) != 2 || sizes[0] > MaxRequestBytes || sizes[0]+sizes[1] != len(data) || sizes[0]%len(line) != 0 {
		t.Fatalf("request sizes %v for %d bytes", sizes, len(data))
	}
	if rows, _ := f.rowsOf("ingestd-test-0"); len(rows) != b.Events {
		t.Fatalf("%d rows, want %d", len(rows), b.Events)
	}
}

func TestSplitChainsContinuationTokens(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	s.maxBody = 1000
	b := batchOf(40, 0, cp(5))
	if err := s.WriteBatch(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	rows, off := f.rowsOf("ingestd-test-0")
	if !reflect.DeepEqual(rows, lines(b.Data)) || off != cp(5) {
		t.Fatalf("%d rows, offset %q", len(rows), off)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodySizes) < 10 {
		t.Fatalf("%d requests for %d bytes", len(f.bodySizes), len(b.Data))
	}
	for _, n := range f.bodySizes {
		if n > 1000 {
			t.Fatalf("a body of %d bytes", n)
		}
	}
}

func TestOverlongLineRefused(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	s.maxBody = 600
	b := batchOf(4, 0, "")
	ls := lines(b.Data)
	long := `{"pad":"` + strings.Repeat("x", 700) + `"}`
	b.Data = []byte(ls[0] + "\n" + long + "\n" + ls[1] + "\n" + ls[2] + "\n" + long + "\n")
	err := s.WriteBatch(t.Context(), b)
	if k, _ := sinks.Classify(err); k != sinks.Permanent || !reflect.DeepEqual(sinks.Refused(err), []int{1, 4}) {
		t.Fatalf("err %v, kind %v, lines %v", err, k, sinks.Refused(err))
	}
	if rows, _ := f.rowsOf("ingestd-test-0"); !reflect.DeepEqual(rows, ls[:3]) {
		t.Fatalf("rows %v", rows)
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		kind   sinks.Kind
		wait   time.Duration
		msg    string
	}{
		{"429", 429, map[string]string{"Retry-After": "7"}, `{"code":"THROTTLED","message":"slow down"}`, sinks.Backoff, 7 * time.Second, "THROTTLED: slow down"},
		{"503 retry-after", 503, map[string]string{"Retry-After": "3"}, ``, sinks.Backoff, 3 * time.Second, "503"},
		{"503", 503, nil, ``, sinks.Retryable, 0, "503"},
		{"413", 413, nil, `{"code":"PAYLOAD_TOO_LARGE","message":"too big"}`, sinks.TooLarge, 0, "too big"},
		{"400 rows", 400, nil, `{"code":"ERR_INVALID_ROWS","message":"column AMOUNT: not a number"}`, sinks.Permanent, 0, "column AMOUNT: not a number"},
		{"500", 500, nil, `oops`, sinks.Retryable, 0, "oops"},
		{"reopen code", 400, nil, `{"code":"ERR_CHANNEL_MUST_BE_REOPENED","message":"invalidated"}`, sinks.Retryable, 0, "reopened"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			s := f.sink(f.options())
			f.setFail(func(w http.ResponseWriter, r *http.Request) bool {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
				return true
			})
			err := s.WriteBatch(t.Context(), batchOf(3, 0, ""))
			k, wait := sinks.Classify(err)
			if err == nil || k != c.kind || wait != c.wait || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err %v: kind %v wait %v; want %v %v containing %q", err, k, wait, c.kind, c.wait, c.msg)
			}
			f.setFail(nil)
			if err := s.WriteBatch(t.Context(), batchOf(3, 0, "")); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

func TestPersistent401IsPermanent(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	f.setFail(func(w http.ResponseWriter, r *http.Request) bool {
		f.refuse(w, http.StatusUnauthorized, "390318", "expired")
		return true
	})
	err := s.WriteBatch(t.Context(), batchOf(1, 0, ""))
	if k, _ := sinks.Classify(err); k != sinks.Permanent {
		t.Fatalf("err %v kind %v", err, k)
	}
	if ex, _, appends := f.counts(); ex != 2 || appends != 2 {
		t.Fatalf("exchanges %d appends %d: want one renewal and one resend", ex, appends)
	}
}

func TestBadKeyRefusedByAccount(t *testing.T) {
	f := newFake(t)
	f.sub = "OTHER.USER" // the account knows another key/user
	s := f.sink(f.options())
	err := s.WriteBatch(t.Context(), batchOf(1, 0, ""))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Permanent || !strings.Contains(err.Error(), "ingest hostname") {
		t.Fatalf("err %v kind %v", err, k)
	}
}

func TestMissingContinuationTokenInAnswer(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	f.setFail(func(w http.ResponseWriter, r *http.Request) bool {
		w.Write([]byte(`{}`))
		return true
	})
	err := s.WriteBatch(t.Context(), batchOf(1, 0, ""))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("err %v kind %v", err, k)
	}
	f.setFail(nil)
	if err := s.WriteBatch(t.Context(), batchOf(1, 0, "")); err != nil {
		t.Fatal(err)
	}
	if _, opens, _ := f.counts(); opens != 2 {
		t.Fatalf("%d opens, want a reopen", opens)
	}
}

func TestOpenChannelRefused(t *testing.T) {
	f := newFake(t)
	o := f.options()
	o.Table = "NOPE"
	s := f.sink(o)
	err := s.WriteBatch(t.Context(), batchOf(1, 0, ""))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Permanent || !strings.Contains(err.Error(), "ERR_PIPE_DOES_NOT_EXIST") {
		t.Fatalf("err %v kind %v", err, k)
	}
}

func TestUnreachableIsRetryable(t *testing.T) {
	f := newFake(t)
	s := f.sink(f.options())
	f.srv.Close()
	err := s.WriteBatch(t.Context(), batchOf(1, 0, ""))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("err %v kind %v", err, k)
	}
	if _, err := s.Resume(t.Context()); err == nil {
		t.Fatal("Resume on a closed server succeeded")
	}
}

func TestBeforeConnect(t *testing.T) {
	f := newFake(t)
	s, err := New("sf", f.options())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(t.Context(), batchOf(1, 0, "")); err == nil {
		t.Fatal("WriteBatch before Connect succeeded")
	}
	if _, err := s.Resume(t.Context()); err == nil {
		t.Fatal("Resume before Connect succeeded")
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(t.Context(), &sinks.Batch{}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistered(t *testing.T) {
	reg, ok := sinks.Lookup(Type)
	if !ok || reg.Concurrency != Concurrency {
		t.Fatal("not registered")
	}
	f := newFake(t)
	sk, err := reg.New("sf", f.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sk.(sinks.Resumer); !ok {
		t.Fatal("not a Resumer")
	}
	if _, err := reg.New("sf", reg.NewOptions()); err == nil {
		t.Fatal("empty options accepted")
	}
	var wrong struct{ sinks.Options }
	if _, err := reg.New("sf", wrong); err == nil {
		t.Fatal("wrong options type accepted")
	}
}
