package reqbody

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// A body goes back to the pool only when the sender and every reader let go: a reader that
// outlives Release still reads the whole body, and reading after Close is an error.
func TestBodyOutlivesRelease(t *testing.T) {
	p := New("test")
	b := p.Get()
	b.Set([]byte("hello, world"))
	first := b.Reader()
	again, err := b.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	for _, r := range []io.ReadCloser{first, again} {
		got, err := io.ReadAll(r)
		if err != nil || string(got) != "hello, world" {
			t.Fatalf("read %q, %v", got, err)
		}
	}
	if b.refs.Load() != 2 {
		t.Fatalf("holds %d, want the two readers", b.refs.Load())
	}
	first.Close()
	first.Close() // twice is once
	if b.refs.Load() != 1 {
		t.Fatalf("holds %d after closing one reader twice, want 1", b.refs.Load())
	}
	if _, err := first.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "test sink") {
		t.Fatalf("read after Close: %v", err)
	}
	again.Close()
	if b.refs.Load() != 0 {
		t.Fatalf("holds %d, want none", b.refs.Load())
	}
}

func TestGzip(t *testing.T) {
	p := New("test")
	b := p.Get()
	defer b.Release()
	raw := bytes.Repeat([]byte(`{"event":{"n":1}}`+"\n"), 100)
	b.Gzip(raw)
	zr, err := gzip.NewReader(b.Reader())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("gunzipped %d bytes (%v), want %d", len(got), err, len(raw))
	}
}
