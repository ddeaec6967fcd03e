package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

func TestRegistered(t *testing.T) {
	reg, ok := sinks.Lookup("http")
	if !ok {
		t.Fatal(`type "http" is not registered`)
	}
	if reg.Concurrency != 4 {
		t.Fatalf("Concurrency %d, want 4", reg.Concurrency)
	}
	o := reg.NewOptions().(*Options)
	if !reflect.DeepEqual(o, NewOptions()) {
		t.Fatalf("registered options %+v, want the defaults", *o)
	}
	o.URL = "http://127.0.0.1:1/hook"
	if s, err := reg.New("hook", o); err != nil || s == nil {
		t.Fatalf("New: %v, %v", s, err)
	}
	o.URL = ""
	if s, err := reg.New("hook", o); err == nil || s != nil || !strings.Contains(err.Error(), `http sink "hook": invalid options: url: is required`) {
		t.Fatalf("New without url: %v, %v", s, err)
	}
	if _, err := reg.New("hook", &struct{ Options }{}); err == nil || !strings.Contains(err.Error(), "not *http.Options") {
		t.Fatalf("New with foreign options: %v", err)
	}
}

func TestBodies(t *testing.T) {
	want := map[string]string{
		FormatNDJSON:    lines,
		FormatJSONArray: "[" + strings.ReplaceAll(strings.TrimSuffix(lines, "\n"), "\n", ",") + "]",
	}
	types := map[string]string{FormatNDJSON: "application/x-ndjson", FormatJSONArray: "application/json"}
	for _, format := range []string{FormatNDJSON, FormatJSONArray} {
		for _, comp := range []string{CompressionNone, CompressionGzip, CompressionZstd} {
			t.Run(format+"/"+comp, func(t *testing.T) {
				rc := newReceiver(t, nil)
				s := newSink(t, rc.URL+"/hook", func(o *Options) { o.Format, o.Compression = format, comp })
				// Twice: the second body is built in the pooled buffers the first left.
				write(t, s, batch(lines))
				write(t, s, batch(lines))
				for _, r := range rc.requests() {
					if r.body != want[format] {
						t.Fatalf("body %q, want %q", r.body, want[format])
					}
					if ct := r.header.Get("Content-Type"); ct != types[format] {
						t.Fatalf("Content-Type %q, want %q", ct, types[format])
					}
					enc := r.header.Get("Content-Encoding")
					if comp == CompressionNone && enc != "" || comp != CompressionNone && enc != comp {
						t.Fatalf("Content-Encoding %q with compression %s", enc, comp)
					}
					if comp != CompressionNone && r.raw >= len(r.body) {
						t.Fatalf("%s sent %d bytes for a %d-byte body", comp, r.raw, len(r.body))
					}
				}
				if format == FormatJSONArray {
					var events []map[string]any
					if err := json.Unmarshal([]byte(rc.requests()[0].body), &events); err != nil || len(events) != 2 || events[1]["event"].(map[string]any)["transactionId"] != "txn_2" {
						t.Fatalf("json_array body decodes to %v, %v", events, err)
					}
				}
			})
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, rc.URL+"/v1/hook?source=ingestd", func(o *Options) {
		o.Method = "put"
		o.Headers = map[string]string{"x-team": "payments", "X-Api-Key": "k-123456", "Host": "hooks.example.com"}
		o.Auth = &Auth{Bearer: "tok-abcdef"}
	})
	write(t, s, batch(lines))
	r := rc.only(t)
	want := map[string]string{
		"User-Agent":    "ingestd",
		"Content-Type":  "application/x-ndjson",
		"Authorization": "Bearer tok-abcdef",
		"X-Team":        "payments",
		"X-Api-Key":     "k-123456",
	}
	for k, v := range want {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s: %q, want %q", k, got, v)
		}
	}
	if r.method != "PUT" || r.host != "hooks.example.com" {
		t.Errorf("method %s host %s, want PUT hooks.example.com", r.method, r.host)
	}
	if r.header.Get("Idempotency-Key") != "" || r.header.Get("Content-Encoding") != "" {
		t.Errorf("unexpected headers %v", r.header)
	}
}

func TestBasicAuth(t *testing.T) {
	f := func(url string, auth *Auth, user, password string) {
		t.Helper()
		var gotUser, gotPassword string
		var ok bool
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			gotUser, gotPassword, ok = r.BasicAuth()
		})
		s := newSink(t, strings.Replace(url, "SERVER", strings.TrimPrefix(rc.URL, "http://"), 1), func(o *Options) { o.Auth = auth })
		write(t, s, batch(lines))
		if !ok || gotUser != user || gotPassword != password {
			t.Fatalf("basic auth %q %q %v, want %q %q", gotUser, gotPassword, ok, user, password)
		}
		if password != "" && strings.Contains(s.target, password) {
			t.Fatalf("target %q shows the password", s.target)
		}
	}
	f("http://SERVER/hook", &Auth{Basic: &BasicAuth{User: "ingest", Password: "p@ss:word"}}, "ingest", "p@ss:word")
	// Credentials in the url are sent the same way, and kept out of messages.
	f("http://ingest:url-pass@SERVER/hook", nil, "ingest", "url-pass")
	// auth wins over the url's credentials.
	f("http://ingest:url-pass@SERVER/hook", &Auth{Basic: &BasicAuth{User: "u", Password: ""}}, "u", "")
}

func TestTLSWithCustomCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2", http.StatusHTTPVersionNotSupported)
		}
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake refused below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := testpki.CertFile(t, srv.Certificate())

	s := newSink(t, srv.URL, func(o *Options) { o.TLS = &TLS{CAFile: ca} })
	write(t, s, batch(lines))

	// httptest's certificate is for example.com as well as 127.0.0.1.
	s = newSink(t, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), func(o *Options) { o.TLS = &TLS{CAFile: ca, ServerName: "example.com"} })
	write(t, s, batch(lines))

	// Without the CA the system roots do not trust the server: retried, as the fix is a config
	// reload rather than giving the batch up.
	s = newSink(t, srv.URL, nil)
	err := s.WriteBatch(ctx, batch(lines))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without ca_file: %v, want an unknown authority error", err)
	}
	if kind, _ := sinks.Classify(err); kind != sinks.Retryable {
		t.Fatalf("without ca_file: kind %v", kind)
	}
	s = newSink(t, srv.URL, func(o *Options) { o.TLS = &TLS{InsecureSkipVerify: true} })
	write(t, s, batch(lines))
}

func TestMutualTLS(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	var peer string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer = r.TLS.PeerCertificates[0].Subject.CommonName
	}))
	srv.TLS = ca.ServerConfig(t, tls.RequireAndVerifyClientCert)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake refused below
	srv.StartTLS()
	t.Cleanup(srv.Close)

	s := newSink(t, srv.URL, func(o *Options) {
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	})
	write(t, s, batch(lines))
	if peer != testpki.ClientName {
		t.Fatalf("server saw client %q", peer)
	}
	s = newSink(t, srv.URL, func(o *Options) { o.TLS = &TLS{CAFile: ca.CertFile} })
	if err := s.WriteBatch(ctx, batch(lines)); err == nil {
		t.Fatal("the server took a request without a client certificate")
	}
}

// TestConnect: Connect contacts nobody, but reads the TLS files, which may have changed since
// the options were validated.
func TestConnect(t *testing.T) {
	o := NewOptions()
	o.URL = "http://127.0.0.1:1/down"
	s, err := New("hook", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil { // without Connect
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, batch(lines)); err == nil || !strings.Contains(err.Error(), "before Connect") {
		t.Fatalf("WriteBatch before Connect: %v", err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect to a receiver that is down: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil { // twice
		t.Fatal(err)
	}

	f := func(remove func(ca, cert, key string) string, wantErr string) {
		t.Helper()
		ca := testpki.New(t)
		client := ca.Client(t)
		o.URL = "https://127.0.0.1:1/down"
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
		s, err := New("hook", o)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(remove(ca.CertFile, client.CertFile, client.KeyFile)); err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(ctx); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Connect: %v, want %q", err, wantErr)
		}
		_ = s.Close(ctx)
	}
	f(func(ca, cert, key string) string { return ca }, `http sink "hook": tls.ca_file: open `)
	f(func(ca, cert, key string) string { return cert }, `http sink "hook": tls.cert_file: open `)
	f(func(ca, cert, key string) string { return key }, `http sink "hook": tls.key_file: open `)
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSink(t, rc.URL, nil)
	write(t, s, batch(""))
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("%d requests for an empty batch", n)
	}
}

func TestStatusClasses(t *testing.T) {
	fixed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	t.Cleanup(func() { now = time.Now })
	date := func(d time.Duration) string { return fixed.Add(d).Format(http.TimeFormat) }

	f := func(code int, retryAfter string, wantKind sinks.Kind, wantWait time.Duration) {
		t.Helper()
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			if code == http.StatusFound {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, "answer %d", code)
		})
		err := newSink(t, rc.URL+"/hook", nil).WriteBatch(ctx, batch(lines))
		kind, wait := sinks.Classify(err)
		if code < 300 {
			if err != nil {
				t.Fatalf("%d: %v", code, err)
			}
			return
		}
		if err == nil || kind != wantKind || wait != wantWait {
			t.Fatalf("%d Retry-After %q: %v: kind %v wait %v, want %v %v", code, retryAfter, err, kind, wait, wantKind, wantWait)
		}
		text := http.StatusText(code)
		if text == "" {
			text = fmt.Sprintf("status code %d", code)
		}
		want := fmt.Sprintf(`http sink "hook": POST %s/hook: %d %s: answer %d`, rc.URL, code, text, code)
		if code == http.StatusFound {
			want = fmt.Sprintf(`http sink "hook": POST %s/hook: 302 Found (redirects are not followed; set url to the final address, Location: "/elsewhere"): answer 302`, rc.URL)
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("%d: message %q, want it to start with %q", code, err, want)
		}
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("%d: %d requests: one was retried or redirected", code, n)
		}
	}
	for _, code := range []int{200, 201, 202, 204, 299} {
		f(code, "", 0, 0)
	}
	f(413, "", sinks.TooLarge, 0)
	f(413, "5", sinks.TooLarge, 0)
	f(429, "", sinks.Backoff, 0)
	f(429, "7", sinks.Backoff, 7*time.Second)
	f(429, " 0 ", sinks.Backoff, 0)
	f(429, date(2*time.Minute), sinks.Backoff, 2*time.Minute)
	f(429, date(-time.Minute), sinks.Backoff, 0) // a date passed: no wait
	f(429, "soon", sinks.Backoff, 0)             // malformed: as if missing
	f(429, "99999999999999999999999", sinks.Backoff, time.Hour)
	f(503, "", sinks.Retryable, 0)
	f(503, "30", sinks.Backoff, 30*time.Second)
	f(503, date(90*time.Second), sinks.Backoff, 90*time.Second)
	f(503, "-1", sinks.Retryable, 0)
	for _, code := range []int{408, 500, 502, 504, 507, 599} {
		f(code, "", sinks.Retryable, 0)
	}
	f(500, "10", sinks.Retryable, 0) // Retry-After counts only with 429 and 503
	for _, code := range []int{400, 401, 403, 404, 405, 409, 410, 415, 422, 451, 499} {
		f(code, "", sinks.Permanent, 0)
	}
	// Redirects are not followed: the receiver sees one request, and the batch is refused.
	f(http.StatusFound, "", sinks.Permanent, 0)
}

func TestRedirectNotFollowed(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
		}
	})
	err := newSink(t, rc.URL+"/old", nil).WriteBatch(ctx, batch(lines))
	if kind, _ := sinks.Classify(err); kind != sinks.Permanent || !strings.Contains(err.Error(), `Location: "/new"`) {
		t.Fatalf("308: %v, kind %v", err, kind)
	}
	if got := rc.requests(); len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
}

func TestErrorExcerpt(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(body))
		})
		s := newSink(t, rc.URL, func(o *Options) {
			o.Auth = &Auth{Bearer: "secret-token-123"}
			o.Headers = map[string]string{"X-Api-Key": "key-4567890", "X-Team": "payments"}
		})
		err := s.WriteBatch(ctx, batch(lines))
		prefix := `http sink "hook": POST ` + rc.URL + ": 400 Bad Request"
		if err == nil || err.Error() != prefix+want {
			t.Fatalf("body %q: error\n%v\nwant\n%s", body, err, prefix+want)
		}
	}
	f("", "")
	f(`{"error":"bad field"}`, `: {"error":"bad field"}`)
	// one line: control characters become spaces, invalid UTF-8 '?'
	f("line 1\r\nline 2\x00\xff é", ": line 1  line 2 ? é")
	// bounded: 512 bytes and a mark
	f(strings.Repeat("x", 511)+"yz"+strings.Repeat("-", 100<<10), ": "+strings.Repeat("x", 511)+"y...")
	f(strings.Repeat("x", 512), ": "+strings.Repeat("x", 512))
	// a character cut at the bound is left out whole
	f(strings.Repeat("x", 511)+"é", ": "+strings.Repeat("x", 511)+"...")
	// secrets the receiver echoes are masked, even when the bound cuts through them; values
	// of headers that do not look like credentials are kept
	f(`bad token "secret-token-123" for key-4567890 (payments)`, `: bad token "****************" for *********** (payments)`)
	f(strings.Repeat("x", 504)+"secret-token-123", ": "+strings.Repeat("x", 504)+"********...")
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	// A port nobody listens on: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = newSink(t, "http://"+addr+"/hook", nil).WriteBatch(ctx, batch(lines))
	if kind, _ := sinks.Classify(err); err == nil || kind != sinks.Retryable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("refused: %v, kind %v", err, kind)
	}
	if want := `http sink "hook": POST http://` + addr + `/hook: dial tcp`; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("refused: %q, want it to start with %q", err, want)
	}

	// A receiver slower than the timeout.
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release) // before the server's Close, which waits for the handler
	start := time.Now()
	err = newSink(t, rc.URL, func(o *Options) { o.Timeout = 100 * time.Millisecond }).WriteBatch(ctx, batch(lines))
	var ne net.Error
	if kind, _ := sinks.Classify(err); err == nil || kind != sinks.Retryable || !errors.As(err, &ne) || !ne.Timeout() ||
		!strings.Contains(err.Error(), "no answer within the 100ms timeout") {
		t.Fatalf("timeout: %v, kind %v", err, kind)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the 100ms timeout took %v", d)
	}

	// The engine giving up (shutdown) cancels the request.
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	err = newSink(t, rc.URL, nil).WriteBatch(c, batch(lines))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestConnectionReuse: bodies are drained and closed, so sequential batches share one
// connection, whatever the answer.
func TestConnectionReuse(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	n := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		switch i % 3 {
		case 0:
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(strings.Repeat("ok ", 10<<10)))
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(strings.Repeat("slow down ", 1<<10)))
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s := newSink(t, srv.URL, nil)
	for range 30 {
		_ = s.WriteBatch(ctx, batch(lines))
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 30 || conns != 1 {
		t.Fatalf("%d requests over %d connections, want 30 over 1", n, conns)
	}
}

// TestEarlyAnswer: a receiver that refuses a big body before reading it. The transport may still
// be writing the body after WriteBatch returns; the pooled buffer must not be reused before it
// is done (the race detector checks), and later batches arrive intact.
func TestEarlyAnswer(t *testing.T) {
	big := strings.Repeat(`{"n":"`+strings.Repeat("x", 1000)+`"}`+"\n", 4<<10)
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 1<<20 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(body))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s := newSink(t, srv.URL, nil)
	for range 5 {
		err := s.WriteBatch(ctx, batch(big))
		if kind, _ := sinks.Classify(err); kind != sinks.TooLarge && kind != sinks.Retryable {
			t.Fatalf("big batch: %v", err)
		}
		write(t, s, batch(lines))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 5 {
		t.Fatalf("%d small batches arrived, want 5", len(got))
	}
	for _, body := range got {
		if body != lines {
			t.Fatalf("small batch arrived as %q", body)
		}
	}
}

// TestConcurrentWrites runs Concurrency writers at once (as the engine does) in every format
// and compression; each body must arrive exactly once and intact.
func TestConcurrentWrites(t *testing.T) {
	for _, comp := range []string{CompressionNone, CompressionGzip, CompressionZstd} {
		for _, format := range []string{FormatNDJSON, FormatJSONArray} {
			rc := newReceiver(t, nil)
			s := newSink(t, rc.URL, func(o *Options) { o.Format, o.Compression = format, comp })
			const perWriter = 25
			var want []string
			var wg sync.WaitGroup
			for w := range Concurrency {
				var bodies []string
				for i := range perWriter {
					ev := fmt.Sprintf(`{"writer":%d,"i":%d,"pad":"%s"}`, w, i, strings.Repeat("p", i*37))
					body := ev + "\n" + ev + "\n"
					bodies = append(bodies, body)
					if format == FormatJSONArray {
						body = "[" + ev + "," + ev + "]"
					}
					want = append(want, body)
				}
				wg.Go(func() {
					for _, body := range bodies {
						if err := s.WriteBatch(ctx, batch(body)); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			var got []string
			for _, r := range rc.requests() {
				got = append(got, r.body)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s/%s: the receiver got %d bodies, not the %d sent", format, comp, len(got), len(want))
			}
		}
	}
}

func TestBasicHeaderValue(t *testing.T) {
	o := NewOptions()
	o.URL = "https://hooks.example.com/x"
	o.Auth = &Auth{Basic: &BasicAuth{User: "a", Password: "b"}}
	s, err := New("hook", o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("a:b")); got != want {
		t.Fatalf("Authorization %q, want %q", got, want)
	}
}
