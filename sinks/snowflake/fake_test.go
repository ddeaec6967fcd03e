package snowflake

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The test key pair, made once: RSA key generation is slow.
var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyFile string
)

func testKeyFile(t testing.TB) (string, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		testKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(testKey)
		dir, err := os.MkdirTemp("", "snowflake-key")
		if err != nil {
			panic(err)
		}
		keyFile = filepath.Join(dir, "rsa_key.p8")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			panic(err)
		}
	})
	return keyFile, testKey
}

// fake stands for Snowflake's Snowpipe Streaming REST endpoints: hostname discovery and token
// exchange on the account host, channel open, append rows and bulk channel status on the
// ingest host (the same server here). It checks the JWT against the test's public key, keeps
// each channel's continuation token and sequencer, answers a stale token with the error
// Snowflake documents in its clients, and stores rows and offset tokens per channel. fail, when
// set, may answer an append-rows request itself.
type fake struct {
	t   testing.TB
	srv *httptest.Server
	pub *rsa.PublicKey
	sub string // "ACCOUNT.USER"

	mu        sync.Mutex
	tokens    map[string]bool
	issued    int
	exchanges int
	opens     int
	appends   int
	bodySizes []int // uncompressed append bodies
	channels  map[string]*fakeChannel
	fail      func(w http.ResponseWriter, r *http.Request) bool
	jwtErrs   []string
}

type fakeChannel struct {
	seq    int
	cont   string
	rows   []string
	offset *string
}

func newFake(t testing.TB) *fake {
	_, key := testKeyFile(t)
	f := &fake{t: t, pub: &key.PublicKey, sub: "MYORG-ACCT1.INGESTER", tokens: map[string]bool{}, channels: map[string]*fakeChannel{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fake) refuse(w http.ResponseWriter, code int, errCode, msg string) {
	f.answer(w, code, map[string]string{"code": errCode, "message": msg})
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	host := strings.TrimPrefix(f.srv.URL, "http://")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/streaming/hostname":
		if r.Header.Get("X-Snowflake-Authorization-Token-Type") != "KEYPAIR_JWT" || !f.checkJWT(r) {
			f.refuse(w, http.StatusUnauthorized, "390144", "JWT token is invalid")
			return
		}
		f.answer(w, http.StatusOK, map[string]string{"hostname": host})
		return
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || !f.checkJWT(r) {
			f.refuse(w, http.StatusUnauthorized, "390144", "JWT token is invalid")
			return
		}
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.PostForm.Get("scope") != host {
			f.refuse(w, http.StatusBadRequest, "invalid_request", "bad grant_type or scope")
			return
		}
		f.issued++
		f.exchanges++
		tok := fmt.Sprintf("scoped-%d", f.issued)
		f.tokens[tok] = true
		f.answer(w, http.StatusOK, map[string]string{"token": tok})
		return
	}
	if !f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
		f.refuse(w, http.StatusUnauthorized, "390318", "OAuth access token expired")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/streaming/"), "/")
	switch {
	case r.Method == http.MethodPut && len(parts) == 8 && parts[0] == "databases" && parts[6] == "channels":
		if parts[1] != "DB" || parts[3] != "PUBLIC" || parts[5] != "EVENTS-STREAMING" {
			f.refuse(w, http.StatusNotFound, "ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED", "no such pipe")
			return
		}
		ch := f.channel(parts[7])
		ch.seq++
		ch.cont = fmt.Sprintf("%s|%d|0", parts[7], ch.seq)
		f.opens++
		f.answer(w, http.StatusOK, map[string]any{
			"next_continuation_token": ch.cont,
			"channel_status":          map[string]any{"last_committed_offset_token": ch.offset, "channel_status_code": "SUCCESS"},
		})
	case r.Method == http.MethodPost && len(parts) == 10 && parts[0] == "data" && parts[9] == "rows":
		f.appends++
		if f.fail != nil && f.fail(w, r) {
			return
		}
		ch := f.channels[strings.ToUpper(parts[8])]
		if ch == nil || r.URL.Query().Get("continuationToken") != ch.cont {
			f.refuse(w, http.StatusBadRequest, "STALE_CONTINUATION_TOKEN_SEQUENCER", "Channel sequencer in the continuation token is stale. Please reopen the channel")
			return
		}
		if r.Header.Get("Content-Type") != "application/x-ndjson" {
			f.refuse(w, http.StatusBadRequest, "INVALID_CONTENT_TYPE", r.Header.Get("Content-Type"))
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				f.refuse(w, http.StatusBadRequest, "INVALID_PAYLOAD", err.Error())
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			f.refuse(w, http.StatusBadRequest, "INVALID_PAYLOAD", err.Error())
			return
		}
		f.bodySizes = append(f.bodySizes, len(raw))
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 64<<20)
		var rows []string
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				f.refuse(w, http.StatusBadRequest, "INVALID_ROW", "row is not JSON")
				return
			}
			rows = append(rows, sc.Text())
		}
		ch.rows = append(ch.rows, rows...)
		if q := r.URL.Query(); q.Has("offsetToken") {
			tok := q.Get("offsetToken")
			ch.offset = &tok
		}
		ch.cont = fmt.Sprintf("%s|%d|%d", parts[8], ch.seq, len(ch.rows))
		f.answer(w, http.StatusOK, map[string]string{"next_continuation_token": ch.cont})
	case r.Method == http.MethodPost && len(parts) == 6 && parts[0] == "databases" && strings.HasSuffix(parts[5], ":bulk-channel-status"):
		var req struct {
			Names []string `json:"channel_names"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Names) == 0 {
			f.refuse(w, http.StatusBadRequest, "INVALID_REQUEST", "channel_names")
			return
		}
		out := map[string]any{}
		for _, n := range req.Names {
			if ch := f.channels[strings.ToUpper(n)]; ch != nil {
				// Snowflake folds unquoted names to upper case; answer that way.
				out[strings.ToUpper(n)] = map[string]any{"channel_status_code": "SUCCESS", "last_committed_offset_token": ch.offset}
			}
		}
		f.answer(w, http.StatusOK, map[string]any{"channel_statuses": out})
	default:
		f.refuse(w, http.StatusNotFound, "NOT_FOUND", r.Method+" "+r.URL.Path)
	}
}

func (f *fake) channel(name string) *fakeChannel {
	key := strings.ToUpper(name)
	if f.channels[key] == nil {
		f.channels[key] = &fakeChannel{}
	}
	return f.channels[key]
}

// checkJWT verifies the bearer JWT's RS256 signature with the test's public key and its
// claims: issuer with the key's fingerprint, subject, and a lifetime of at most an hour.
func (f *fake) checkJWT(r *http.Request) bool {
	bad := func(why string) bool { f.jwtErrs = append(f.jwtErrs, why); return false }
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	if len(parts) != 3 {
		return bad("not three parts")
	}
	enc := base64.RawURLEncoding
	head, err1 := enc.DecodeString(parts[0])
	body, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return bad("not base64url")
	}
	var h struct{ Alg, Typ string }
	if json.Unmarshal(head, &h) != nil || h.Alg != "RS256" || h.Typ != "JWT" {
		return bad("header " + string(head))
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig) != nil {
		return bad("signature")
	}
	var c struct {
		Iss, Sub string
		Iat, Exp int64
	}
	if json.Unmarshal(body, &c) != nil {
		return bad("claims")
	}
	der, _ := x509.MarshalPKIXPublicKey(f.pub)
	fp := sha256.Sum256(der)
	if c.Iss != f.sub+".SHA256:"+base64.StdEncoding.EncodeToString(fp[:]) || c.Sub != f.sub {
		return bad("iss/sub " + c.Iss + " " + c.Sub)
	}
	now := time.Now().Unix()
	if c.Exp <= now || c.Exp-c.Iat > 3600 || c.Iat > now+60 {
		return bad("times")
	}
	return true
}

// rowsOf returns a channel's stored rows and offset token.
func (f *fake) rowsOf(name string) ([]string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.channels[strings.ToUpper(name)]
	if ch == nil {
		return nil, ""
	}
	off := ""
	if ch.offset != nil {
		off = *ch.offset
	}
	return append([]string(nil), ch.rows...), off
}

func (f *fake) counts() (exchanges, opens, appends int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges, f.opens, f.appends
}

func (f *fake) setFail(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// options returns valid options aimed at the fake.
func (f *fake) options() *Options {
	file, _ := testKeyFile(f.t)
	o := NewOptions()
	o.Account = "myorg-acct1"
	o.User = "ingester"
	o.PrivateKeyFile = file
	o.URL = f.srv.URL
	o.Database = "DB"
	o.Schema = "PUBLIC"
	o.Table = "EVENTS"
	o.ChannelPrefix = "ingestd-test"
	return o
}

// sink returns a connected sink writing to the fake.
func (f *fake) sink(o *Options) *Sink {
	s, err := New("sf", o)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := s.Connect(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { s.Close(f.t.Context()) })
	return s
}
