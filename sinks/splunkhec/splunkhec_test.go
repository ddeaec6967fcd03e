package splunkhec

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

func batchOf(n int) *sinks.Batch {
	var sb strings.Builder
	for i := range n {
		sb.WriteString(eventLine(i))
		sb.WriteByte('\n')
	}
	return &sinks.Batch{Stream: "payments", StreamID: "s1", Data: []byte(sb.String()), Events: n,
		ReceivedAt: time.Date(2025, 2, 12, 14, 32, 16, 0, time.UTC).UnixNano()}
}

func newSink(t testing.TB, o *Options) *Sink {
	t.Helper()
	s, err := New("hec", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func optionsFor(r *hecReceiver) *Options {
	o := NewOptions()
	o.URL = r.srv.URL
	o.Token = r.token
	return o
}

func envelopeOf(t *testing.T, o *Options, event string, fallback int64) string {
	t.Helper()
	e := newEnvelope(o)
	return string(e.appendEvent(nil, []byte(event), make([]fieldpath.Value, e.set.Len()), fallback))
}

// No server: without an event_field, the envelope carries the whole stored event.
func TestEnvelopeDefaultSendsWholeEvent(t *testing.T) {
	o := NewOptions()
	ev := eventLine(7)
	got := envelopeOf(t, o, ev, 0)
	if want := `{"time":1739370735.007,"event":` + ev + `}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// No server: the *_field paths win over the static values, and indexed fields keep only
// strings and numbers.
func TestEnvelopeMapping(t *testing.T) {
	o := NewOptions()
	o.HostField = "metadata.host"
	o.SourceField = "source"
	o.SourcetypeField = "event.nosuch"
	o.Sourcetype = `ingestd:"json"`
	o.Index = "main"
	o.IndexField = "event.status"
	o.EventField = "event"
	o.Fields = map[string]string{"env": "metadata.env", "amount": "event.amount", "absent": "x.y", "obj": "metadata"}
	got := envelopeOf(t, o, eventLine(4), 0)
	want := `{"time":1739370735.004,"host":"web-1","source":"payments-app","sourcetype":"ingestd:\"json\"","index":"declined",` +
		`"fields":{"amount":"1234.5","env":"prod"},` +
		`"event":{"transactionId":"txn_4","status":"declined","amount":1234.5,"message":"card \"declined\""}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatal(err)
	}
}

// No server: an event_field that is missing, null or empty sends the whole event instead,
// which HEC would refuse (codes 12, 13).
func TestEnvelopeEventFallsBackToWholeEvent(t *testing.T) {
	o := NewOptions()
	o.EventField = "event.message"
	for _, ev := range []string{
		`{"timestamp":"2025-02-12T14:32:15Z","event":{"message":""}}`,
		`{"timestamp":"2025-02-12T14:32:15Z","event":{"message":null}}`,
		`{"timestamp":"2025-02-12T14:32:15Z","event":{}}`,
	} {
		if got, want := envelopeOf(t, o, ev, 0), `{"time":1739370735,"event":`+ev+`}`; got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	ev := `{"timestamp":"2025-02-12T14:32:15Z","event":{"message":"hi"}}`
	if got, want := envelopeOf(t, o, ev, 0), `{"time":1739370735,"event":"hi"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// No server: the time field in its forms, and the fallbacks to received_at and the batch time.
func TestEnvelopeTime(t *testing.T) {
	const fallback = int64(1739370736_000042000) // 1739370736.000042
	for _, c := range []struct{ ts, want string }{
		{`"2025-02-12T14:32:15Z"`, "1739370735"},
		{`"2025-02-12T14:32:15.123456789Z"`, "1739370735.123456"},
		{`"2025-02-12T14:32:15.5z"`, "1739370735.5"},
		{`"2025-02-12t16:32:15.25+02:00"`, "1739370735.25"},
		{`"2025-02-12 09:02:15-05:30"`, "1739370735"},
		{`"1970-01-01T00:00:00Z"`, "0"},
		{`1739370735.5`, "1739370735.5"},
		{`"2025-02-30T14:32:15Z"`, "1739370736.123456"},   // no such day: received_at
		{`"1969-12-31T23:59:59.5Z"`, "1739370736.123456"}, // before 1970: received_at
		{`"2025-02-12T14:32:15"`, "1739370736.123456"},    // no zone: received_at
		{`"2025-02-12T24:32:15Z"`, "1739370736.123456"},
		{`"2025-02-12T14:32:15.Z"`, "1739370736.123456"},
		{`"2025-02-12T14:32:15+2:00"`, "1739370736.123456"},
		{`"yesterday"`, "1739370736.123456"},
		{`true`, "1739370736.123456"},
	} {
		ev := `{"timestamp":` + c.ts + `,"received_at":"2025-02-12T14:32:16.123456789Z"}`
		if got, want := envelopeOf(t, NewOptions(), ev, fallback), `{"time":`+c.want+`,"event":`+ev+`}`; got != want {
			t.Errorf("timestamp %s: got %s, want %s", c.ts, got, want)
		}
	}
	ev := `{"timestamp":"soon"}`
	if got, want := envelopeOf(t, NewOptions(), ev, fallback), `{"time":1739370736.000042,"event":`+ev+`}`; got != want {
		t.Errorf("batch fallback: got %s, want %s", got, want)
	}
	o := NewOptions()
	o.TimeField = "event.at"
	ev = `{"event":{"at":"2025-02-12T14:32:15.000001Z"}}`
	if got, want := envelopeOf(t, o, ev, fallback), `{"time":1739370735.000001,"event":`+ev+`}`; got != want {
		t.Errorf("time_field: got %s, want %s", got, want)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC): one POST per batch,
// plain and gzip, every envelope checked as HEC checks it, with the configured headers.
func TestWriteBatchDelivers(t *testing.T) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			r := newReceiver(t)
			o := optionsFor(r)
			o.Compression = comp
			o.Sourcetype = "_json"
			o.Fields = map[string]string{"env": "metadata.env"}
			o.Headers = map[string]string{"X-Team": "payments"}
			s := newSink(t, o)
			if err := s.WriteBatch(context.Background(), batchOf(5)); err != nil {
				t.Fatal(err)
			}
			got := r.got()
			if len(got) != 5 {
				t.Fatalf("receiver holds %d envelopes, want 5", len(got))
			}
			for i, env := range got {
				ev := env["event"].(map[string]any)
				if ev["event_id"] != "0123456789abcdef0123456789abcdef-"+string(rune('0'+i)) || env["sourcetype"] != "_json" ||
					env["fields"].(map[string]any)["env"] != "prod" || env["time"].(json.Number).String() != "1739370735.00"+string(rune('0'+i)) {
					t.Errorf("envelope %d: %v", i, env)
				}
			}
			posts, _, gzipped := r.counts()
			if posts != 1 || (comp == CompressionGzip) != (gzipped == 1) {
				t.Errorf("posts %d, gzipped %d", posts, gzipped)
			}
			h := r.lastHeader
			if h.Get("Content-Type") != "application/json" || h.Get("X-Team") != "payments" || h.Get("X-Splunk-Request-Channel") != "" {
				t.Errorf("headers %v", h)
			}
		})
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC with a useACK token):
// WriteBatch returns only once the ack endpoint confirms the batch, on one channel.
func TestWriteBatchWaitsForAck(t *testing.T) {
	r := newReceiver(t)
	r.useAck, r.pollsToAck = true, 3
	o := optionsFor(r)
	o.Ack = Ack{Enabled: true, PollInterval: 5 * time.Millisecond, Timeout: 5 * time.Second}
	s := newSink(t, o)
	for range 2 {
		if err := s.WriteBatch(context.Background(), batchOf(3)); err != nil {
			t.Fatal(err)
		}
	}
	posts, polls, _ := r.counts()
	if posts != 2 || polls != 6 || len(r.got()) != 6 {
		t.Fatalf("posts %d, ack polls %d, envelopes %d; want 2, 6, 6", posts, polls, len(r.got()))
	}
	if ch := r.lastHeader.Get("X-Splunk-Request-Channel"); !isUUID(ch) {
		t.Fatalf("channel %q is not a UUID", ch)
	}
	if len(r.channels) != 1 || r.channels[r.lastHeader.Get("X-Splunk-Request-Channel")].next != 2 {
		t.Fatalf("channels %v", r.channels)
	}
}

// No server: the channel option is sent as is; without it each sink picks a random UUID.
func TestChannelOptionAndRandomDefault(t *testing.T) {
	o := NewOptions()
	o.URL, o.Token, o.Ack.Enabled = "http://splunk:8088", "t0ken", true
	a, _ := New("a", o)
	b, _ := New("b", o)
	ca, cb := a.header.Get("X-Splunk-Request-Channel"), b.header.Get("X-Splunk-Request-Channel")
	if !isUUID(ca) || ca == cb || ca[14] != '4' {
		t.Fatalf("random channels %q %q", ca, cb)
	}
	o.Channel = "0D2A6B5C-3F4E-4C1A-9B7D-8E6F5A4B3C2D"
	c, _ := New("c", o)
	if got := c.header.Get("X-Splunk-Request-Channel"); got != o.Channel {
		t.Fatalf("channel %q", got)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC) never confirming the
// ack: the batch fails as retryable after ack.timeout.
func TestAckTimeoutIsRetryable(t *testing.T) {
	r := newReceiver(t)
	r.useAck, r.pollsToAck = true, 1<<30
	o := optionsFor(r)
	o.Ack = Ack{Enabled: true, PollInterval: 5 * time.Millisecond, Timeout: 40 * time.Millisecond}
	s := newSink(t, o)
	err := s.WriteBatch(context.Background(), batchOf(2))
	if err == nil || !strings.Contains(err.Error(), "ack 0 not confirmed within the 40ms ack timeout (last: not yet indexed)") {
		t.Fatalf("err %v", err)
	}
	if k, _ := sinks.Classify(err); k != sinks.Retryable {
		t.Fatalf("kind %v", k)
	}
	if _, polls, _ := r.counts(); polls < 3 {
		t.Fatalf("only %d polls", polls)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC) with scripted answers
// to the ack poll: busy and 5xx keep polling, a refusal or a malformed answer fails the batch.
func TestAckPollAnswers(t *testing.T) {
	r := newReceiver(t)
	r.useAck, r.pollsToAck = true, 1
	o := optionsFor(r)
	o.Ack = Ack{Enabled: true, PollInterval: time.Millisecond, Timeout: 5 * time.Second}
	s := newSink(t, o)

	// Busy answers keep the poll going.
	r.pushAck(scripted{status: 503, body: `{"text":"Server is busy","code":9}`}, scripted{status: 500, body: "oops"})
	if err := s.WriteBatch(context.Background(), batchOf(1)); err != nil {
		t.Fatal(err)
	}
	// A refusal ends it: the batch fails as retryable and the resend will meet the cause.
	r.pushAck(scripted{status: 400, body: `{"text":"ACK is disabled","code":14}`})
	err := s.WriteBatch(context.Background(), batchOf(1))
	if err == nil || !strings.Contains(err.Error(), `400 Bad Request: "{\"text\":\"ACK is disabled\",\"code\":14}"; ack 1 unconfirmed`) {
		t.Fatalf("err %v", err)
	}
	if k, _ := sinks.Classify(err); k != sinks.Retryable {
		t.Fatalf("kind %v", k)
	}
	// An answer that is not HEC's is an error, not an ack.
	r.pushAck(scripted{status: 200, body: `{"acks":[2]}`})
	if err := s.WriteBatch(context.Background(), batchOf(1)); err == nil || !strings.Contains(err.Error(), `no "acks" object`) {
		t.Fatalf("err %v", err)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC) never confirming the
// ack: the wait ends with the batch's context.
func TestAckWaitEndsWithContext(t *testing.T) {
	r := newReceiver(t)
	r.useAck, r.pollsToAck = true, 1<<30
	o := optionsFor(r)
	o.Ack = Ack{Enabled: true, PollInterval: 5 * time.Millisecond, Timeout: time.Minute}
	s := newSink(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.WriteBatch(ctx, batchOf(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC) with a token without
// indexer acknowledgement: it answers no ackId, and the batch is delivered as is.
func TestAckOnTokenWithoutAck(t *testing.T) {
	r := newReceiver(t)
	o := optionsFor(r)
	o.Ack = Ack{Enabled: true, PollInterval: time.Millisecond, Timeout: time.Second}
	s := newSink(t, o)
	if err := s.WriteBatch(context.Background(), batchOf(2)); err != nil {
		t.Fatal(err)
	}
	if _, polls, _ := r.counts(); polls != 0 || len(r.got()) != 2 {
		t.Fatalf("polls %d, envelopes %d", polls, len(r.got()))
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC) answering with HEC's
// statuses, codes and texts: each classified for the engine, the token never in the error.
func TestErrorAnswers(t *testing.T) {
	for _, c := range []struct {
		name string
		ans  scripted
		kind sinks.Kind
		wait time.Duration
		msg  string
	}{
		{"busy code 9", scripted{503, `{"text":"Server is busy","code":9}`, "7"}, sinks.Backoff, 7 * time.Second,
			`503 Service Unavailable: HEC code 9 (Server is busy): Splunk is busy`},
		{"503 without Retry-After", scripted{503, `<html>busy</html>`, ""}, sinks.Backoff, 0, `503 Service Unavailable: "<html>busy</html>"`},
		{"429", scripted{429, `{"text":"Too many requests","code":9}`, "2"}, sinks.Backoff, 2 * time.Second, "429 Too Many Requests"},
		{"413", scripted{413, `{"text":"Content too large"}`, ""}, sinks.TooLarge, 0, "413 Request Entity Too Large"},
		{"no data", scripted{400, `{"text":"No data","code":5}`, ""}, sinks.Permanent, 0, "400 Bad Request: HEC code 5 (No data)"},
		{"invalid data format", scripted{400, `{"text":"Invalid data format","code":6,"invalid-event-number":2}`, ""}, sinks.Permanent, 0,
			"HEC code 6 (Invalid data format), at event 2 of the request"},
		{"incorrect index", scripted{400, `{"text":"Incorrect index","code":7,"invalid-event-number":0}`, ""}, sinks.Permanent, 0, "HEC code 7 (Incorrect index)"},
		{"event required", scripted{400, `{"text":"Event field is required","code":12,"invalid-event-number":1}`, ""}, sinks.Permanent, 0, "HEC code 12 (Event field is required), at event 1"},
		{"event blank", scripted{400, `{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}`, ""}, sinks.Permanent, 0, "HEC code 13 (Event field cannot be blank)"},
		{"channel missing", scripted{400, `{"text":"Data channel is missing","code":10}`, ""}, sinks.Permanent, 0, "HEC code 10"},
		{"token disabled", scripted{403, `{"text":"Token disabled","code":1}`, ""}, sinks.Permanent, 0,
			"403 Forbidden: HEC code 1 (Token disabled): the HEC token is missing, invalid or disabled"},
		{"token required", scripted{401, `{"text":"Token is required","code":2}`, ""}, sinks.Permanent, 0, "HEC code 2 (Token is required): the HEC token"},
		{"invalid authorization", scripted{401, `{"text":"Invalid authorization","code":3}`, ""}, sinks.Permanent, 0, "HEC code 3"},
		{"invalid token", scripted{403, `{"text":"Invalid token","code":4}`, ""}, sinks.Permanent, 0, "HEC code 4 (Invalid token)"},
		{"token echoed", scripted{403, `{"text":"Invalid token ` + testToken + `"}`, ""}, sinks.Permanent, 0, "Invalid token ***"},
		{"internal error", scripted{500, `{"text":"Internal server error","code":8}`, ""}, sinks.Retryable, 0, "500 Internal Server Error: HEC code 8"},
		{"bad gateway", scripted{502, `bad gateway`, ""}, sinks.Retryable, 0, `502 Bad Gateway: "bad gateway"`},
		{"200 with an error code", scripted{200, `{"text":"HEC is healthy","code":17}`, ""}, sinks.Permanent, 0, "200 OK: HEC code 17"},
		{"not found", scripted{404, `{"text":"The requested URL was not found on this server.","code":404}`, ""}, sinks.Permanent, 0, "404 Not Found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t)
			s := newSink(t, optionsFor(r))
			r.push(c.ans)
			err := s.WriteBatch(context.Background(), batchOf(3))
			if err == nil {
				t.Fatal("no error")
			}
			kind, wait := sinks.Classify(err)
			if kind != c.kind || wait != c.wait || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), testToken) {
				t.Fatalf("got %v %v %q; want %v %v containing %q, without the token", kind, wait, err, c.kind, c.wait, c.msg)
			}
		})
	}
}

// The strict receiver's own refusals (standing for Splunk Enterprise/Cloud HEC), not scripted
// ones: a wrong token and a request without data.
func TestReceiverRefusals(t *testing.T) {
	r := newReceiver(t)
	o := optionsFor(r)
	o.Token = "wrong-token"
	s := newSink(t, o)
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); k != sinks.Permanent || !strings.Contains(err.Error(), "HEC code 4 (Invalid token)") || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("kind %v, err %v", k, err)
	}
	if len(r.got()) != 0 {
		t.Fatal("receiver took events with a wrong token")
	}

	// A batch of only empty lines sends an empty body: HEC's "No data".
	s = newSink(t, optionsFor(r))
	err = s.WriteBatch(context.Background(), &sinks.Batch{Data: []byte("\n\n"), Events: 0})
	if k, _ := sinks.Classify(err); k != sinks.Permanent || !strings.Contains(err.Error(), "HEC code 5 (No data)") {
		t.Fatalf("kind %v, err %v", k, err)
	}
}

// Against the strict receiver (standing for Splunk Enterprise/Cloud HEC), stopped: a refused
// connection is retryable and names the request.
func TestNetworkErrorIsRetryable(t *testing.T) {
	r := newReceiver(t)
	s := newSink(t, optionsFor(r))
	r.srv.Close()
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable || !strings.Contains(err.Error(), "POST "+r.srv.URL+"/services/collector/event") {
		t.Fatalf("kind %v, err %v", k, err)
	}
}

// Against the strict receiver's server (standing for Splunk Enterprise/Cloud HEC) hanging on
// every request: the request timeout ends the POST, retryably.
func TestTimeout(t *testing.T) {
	block := make(chan struct{})
	r := newReceiver(t)
	r.srv.Config.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block })
	defer close(block)
	o := optionsFor(r)
	o.Timeout = 30 * time.Millisecond
	s := newSink(t, o)
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); k != sinks.Retryable || !strings.Contains(err.Error(), "no answer within the 30ms timeout") {
		t.Fatalf("kind %v, err %v", k, err)
	}
}

// No server: an empty batch, WriteBatch before Connect, Close twice.
func TestWriteBatchEdges(t *testing.T) {
	o := NewOptions()
	o.URL, o.Token = "http://127.0.0.1:1", "t0ken"
	s, err := New("hec", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), &sinks.Batch{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if err := s.WriteBatch(context.Background(), batchOf(1)); err == nil || !strings.Contains(err.Error(), "before Connect") {
		t.Fatalf("err %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// No server: every invalid option is reported, keyed by its YAML path.
func TestValidate(t *testing.T) {
	o := &Options{
		URL: "ftp://u:secret@splunk", Token: "has space", Path: "services", TimeField: "", EventField: "a..b",
		HostField: ".x", Fields: map[string]string{"": "a", "f": "b..c"}, Compression: "zstd",
		Ack: Ack{}, Channel: "not-a-uuid", Timeout: 0, TLS: &TLS{CertFile: "c.pem"},
		Headers: map[string]string{"Authorization": "x", "X-Splunk-Request-Channel": "y", "Bad Name": "z", "X-Ok": "a\nb"},
	}
	var keys []string
	for _, e := range o.Validate() {
		keys = append(keys, e.Key)
		if strings.Contains(e.Msg, "secret") || strings.Contains(e.Msg, "has space") {
			t.Errorf("%s: message repeats a secret: %s", e.Key, e.Msg)
		}
	}
	want := "ack.poll_interval ack.timeout channel compression event_field fields fields.f headers.Authorization headers.Bad Name " +
		"headers.X-Ok headers.X-Splunk-Request-Channel host_field path time_field timeout tls tls token url"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("keys\n got %s\nwant %s", got, want)
	}
	for _, u := range []string{"https://splunk:8088/services", "https://splunk:8088?x=1", "http://", "://x"} {
		o := NewOptions()
		o.URL, o.Token = u, "t"
		if errs := o.Validate(); len(errs) != 1 || errs[0].Key != "url" {
			t.Errorf("url %q: %v", u, errs)
		}
	}
	o = NewOptions()
	o.URL, o.Token = "http://splunk:8088", "t"
	o.TLS = &TLS{CAFile: "/nonexistent/ca.pem"}
	errs := o.Validate()
	if len(errs) != 2 || errs[0].Key != "tls" || errs[1].Key != "tls.ca_file" {
		t.Fatalf("%v", errs)
	}
	if _, err := New("x", o); err == nil || !strings.Contains(err.Error(), `splunk_hec sink "x": invalid options: tls: applies only to an https url`) {
		t.Fatalf("New: %v", err)
	}
	o = NewOptions()
	o.URL, o.Token = "https://splunk:8088/", "t"
	if errs := o.Validate(); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
}

// No server: the registry builds the sink from its own options only.
func TestRegistered(t *testing.T) {
	reg, ok := sinks.Lookup("splunk_hec")
	if !ok || reg.Concurrency != Concurrency {
		t.Fatalf("registration %+v, %v", reg, ok)
	}
	o := reg.NewOptions().(*Options)
	o.URL, o.Token = "https://splunk:8088", "t0ken"
	if _, err := reg.New("hec", o); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.New("hec", struct{ sinks.Options }{}); err == nil {
		t.Fatal("foreign options accepted")
	}
}

// Against the strict receiver over TLS (standing for Splunk Enterprise/Cloud HEC on https):
// the CA file is trusted, an unknown certificate is retryable, a vanished CA file fails Connect.
func TestTLS(t *testing.T) {
	r := &hecReceiver{t: t, token: testToken, channels: map[string]*hecChannel{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	defer r.srv.Close()
	ca := testpki.CertFile(t, r.srv.Certificate())
	o := optionsFor(r)
	o.TLS = &TLS{CAFile: ca}
	s := newSink(t, o)
	if err := s.WriteBatch(context.Background(), batchOf(2)); err != nil || len(r.got()) != 2 {
		t.Fatalf("err %v, %d envelopes", err, len(r.got()))
	}

	// Without the CA the server's certificate is unknown: retryable, as the CA may be fixed.
	o.TLS = nil
	s = newSink(t, o)
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); k != sinks.Retryable || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("kind %v, err %v", k, err)
	}

	// A CA file gone between New and Connect fails Connect.
	o.TLS = &TLS{CAFile: ca}
	s, err = New("hec", o)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(ca)
	if err := s.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), `splunk_hec sink "hec": tls.ca_file: open `) {
		t.Fatalf("Connect: %v", err)
	}
}
