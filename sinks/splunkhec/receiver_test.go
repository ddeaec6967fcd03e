package splunkhec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// hecReceiver stands for the HTTP Event Collector of Splunk Enterprise and Splunk Cloud (no
// Splunk runs here): it checks the token, parses each request's concatenated envelopes strictly
// (every one an object with an "event" and a numeric "time", metadata strings, "fields" of
// strings), gunzips, hands out ackIds per channel and answers the ack endpoint, with the codes
// and texts HEC uses. Scripted answers replace the next event or ack POSTs' answers.
type hecReceiver struct {
	t          *testing.T
	srv        *httptest.Server
	token      string
	useAck     bool // the token has indexer acknowledgement on
	pollsToAck int  // ack queries an ackId takes before it reads true

	mu         sync.Mutex
	envelopes  []map[string]any
	posts      int
	gzipped    int
	ackPolls   int
	channels   map[string]*hecChannel
	lastHeader http.Header
	script     []scripted // answers for the next event POSTs
	ackScript  []scripted // answers for the next ack POSTs
}

type hecChannel struct {
	next  uint64
	polls map[uint64]int
}

type scripted struct {
	status     int
	body       string
	retryAfter string
}

const testToken = "0f3c6e1a-8b2d-4e5f-9a7b-1c2d3e4f5a6b"

func newReceiver(t *testing.T) *hecReceiver {
	r := &hecReceiver{t: t, token: testToken, channels: map[string]*hecChannel{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func answerJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func hecError(w http.ResponseWriter, status, code int, text string) {
	answerJSON(w, status, map[string]any{"text": text, "code": code})
}

func (r *hecReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Method != http.MethodPost {
		hecError(w, http.StatusMethodNotAllowed, 404, "Method not allowed")
		return
	}
	switch auth := req.Header.Get("Authorization"); {
	case auth == "":
		hecError(w, http.StatusUnauthorized, 2, "Token is required")
		return
	case auth != "Splunk "+r.token:
		hecError(w, http.StatusForbidden, 4, "Invalid token")
		return
	}
	switch req.URL.Path {
	case "/services/collector/event":
		r.event(w, req)
	case "/services/collector/ack":
		r.ack(w, req)
	default:
		hecError(w, http.StatusNotFound, 404, "The requested URL was not found on this server.")
	}
}

func (r *hecReceiver) answerScripted(w http.ResponseWriter, script *[]scripted) bool {
	if len(*script) == 0 {
		return false
	}
	s := (*script)[0]
	*script = (*script)[1:]
	if s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
	return true
}

func (r *hecReceiver) channel(w http.ResponseWriter, req *http.Request) (*hecChannel, bool) {
	id := req.Header.Get("X-Splunk-Request-Channel")
	if id == "" {
		id = req.URL.Query().Get("channel")
	}
	if id == "" {
		hecError(w, http.StatusBadRequest, 10, "Data channel is missing")
		return nil, false
	}
	if !isUUID(id) {
		hecError(w, http.StatusBadRequest, 11, "Invalid data channel")
		return nil, false
	}
	c := r.channels[id]
	if c == nil {
		c = &hecChannel{polls: map[uint64]int{}}
		r.channels[id] = c
	}
	return c, true
}

func (r *hecReceiver) event(w http.ResponseWriter, req *http.Request) {
	r.posts++
	r.lastHeader = req.Header.Clone()
	if r.answerScripted(w, &r.script) {
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			hecError(w, http.StatusBadRequest, 6, "Invalid data format")
			return
		}
		r.gzipped++
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		hecError(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	var got []map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for n := 0; ; n++ {
		var env map[string]any
		if err := dec.Decode(&env); err == io.EOF {
			break
		} else if err != nil {
			answerJSON(w, http.StatusBadRequest, map[string]any{"text": "Invalid data format", "code": 6, "invalid-event-number": n})
			return
		}
		if code, text := checkEnvelope(env); code != 0 {
			answerJSON(w, http.StatusBadRequest, map[string]any{"text": text, "code": code, "invalid-event-number": n})
			return
		}
		got = append(got, env)
	}
	if len(got) == 0 {
		hecError(w, http.StatusBadRequest, 5, "No data")
		return
	}
	var c *hecChannel
	if r.useAck {
		var ok bool
		if c, ok = r.channel(w, req); !ok {
			return
		}
	}
	r.envelopes = append(r.envelopes, got...)
	if c == nil {
		answerJSON(w, http.StatusOK, map[string]any{"text": "Success", "code": 0})
		return
	}
	answerJSON(w, http.StatusOK, map[string]any{"text": "Success", "code": 0, "ackId": c.next})
	c.next++
}

// checkEnvelope returns HEC's code and text for an envelope it refuses, or 0.
func checkEnvelope(env map[string]any) (int, string) {
	ev, ok := env["event"]
	if !ok || ev == nil {
		return 12, "Event field is required"
	}
	if s, ok := ev.(string); ok && s == "" {
		return 13, "Event field cannot be blank"
	}
	if _, ok := env["time"].(json.Number); !ok {
		return 6, "Invalid data format" // the sink always sends a time, and it must be numeric
	}
	for _, k := range []string{"host", "source", "sourcetype", "index"} {
		if v, ok := env[k]; ok {
			if _, ok := v.(string); !ok {
				return 6, "Invalid data format"
			}
		}
	}
	if f, ok := env["fields"]; ok {
		m, ok := f.(map[string]any)
		if !ok {
			return 15, "Error in handling indexed fields"
		}
		for _, v := range m {
			if _, ok := v.(string); !ok {
				return 15, "Error in handling indexed fields"
			}
		}
	}
	return 0, ""
}

func (r *hecReceiver) ack(w http.ResponseWriter, req *http.Request) {
	r.ackPolls++
	if r.answerScripted(w, &r.ackScript) {
		return
	}
	if !r.useAck {
		hecError(w, http.StatusBadRequest, 14, "ACK is disabled")
		return
	}
	c, ok := r.channel(w, req)
	if !ok {
		return
	}
	var q struct {
		Acks []uint64 `json:"acks"`
	}
	if err := json.NewDecoder(req.Body).Decode(&q); err != nil || q.Acks == nil {
		hecError(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	out := map[string]bool{}
	for _, id := range q.Acks {
		if id >= c.next {
			out[strconv.FormatUint(id, 10)] = false
			continue
		}
		c.polls[id]++
		out[strconv.FormatUint(id, 10)] = c.polls[id] >= r.pollsToAck
	}
	answerJSON(w, http.StatusOK, map[string]any{"acks": out})
}

func (r *hecReceiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.envelopes...)
}

func (r *hecReceiver) push(s ...scripted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, s...)
}

func (r *hecReceiver) pushAck(s ...scripted) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ackScript = append(r.ackScript, s...)
}

func (r *hecReceiver) counts() (posts, ackPolls, gzipped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts, r.ackPolls, r.gzipped
}

// eventLine is a stored event as the engine hands it over, with its event_id.
func eventLine(n int) string {
	return fmt.Sprintf(`{"timestamp":"2025-02-12T14:32:15.%03dZ","source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":1234.5,"message":"card \"declined\""},"metadata":{"env":"prod","host":"web-%d"},"stream_id":"s1","received_at":"2025-02-12T14:32:16.123456789Z","event_id":"0123456789abcdef0123456789abcdef-%d"}`, n%1000, n, n%3, n)
}
