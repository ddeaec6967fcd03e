package stdout

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

var ctx = context.Background()

// recorder keeps each Write call separately, to check that a batch is one write.
type recorder struct {
	writes []string
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func TestWriteBatch(t *testing.T) {
	var r recorder
	s := New("out", &r)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	data := []byte("{\"a\":1}\n{\"a\":2}\n")
	for _, d := range [][]byte{data, nil, []byte("{\"b\":1}\n")} {
		if err := s.WriteBatch(ctx, &sinks.Batch{Stream: "s", Data: d, Events: bytes.Count(d, []byte("\n"))}); err != nil {
			t.Fatal(err)
		}
	}
	// the sink keeps nothing of the caller's buffer
	copy(data, "XXXXXXXXXXXXXXXX")
	if got := strings.Join(r.writes, "|"); got != "{\"a\":1}\n{\"a\":2}\n|{\"b\":1}\n" {
		t.Fatalf("writes %q", r.writes)
	}
	for range 2 {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteError(t *testing.T) {
	r := recorder{err: errors.New("broken pipe")}
	err := New("out", &r).WriteBatch(ctx, &sinks.Batch{Data: []byte("{}\n"), Events: 1})
	if err == nil || err.Error() != `stdout sink "out": broken pipe` || !errors.Is(err, r.err) {
		t.Fatalf("got %v", err)
	}
}

func TestSharedWriter(t *testing.T) {
	// two sinks on one writer that is not safe for concurrent use: the shared lock keeps every
	// batch whole and the race detector quiet
	var buf bytes.Buffer
	a, b := New("a", &buf), New("b", &buf)
	var wg sync.WaitGroup
	for _, s := range []*Sink{a, b} {
		wg.Go(func() {
			for range 100 {
				if err := s.WriteBatch(ctx, &sinks.Batch{Data: []byte("{\"x\":1}\n{\"y\":2}\n"), Events: 2}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got, want := buf.String(), strings.Repeat("{\"x\":1}\n{\"y\":2}\n", 200); got != want {
		t.Fatalf("batches interleaved: %q", got)
	}
}

func TestRegistration(t *testing.T) {
	reg, ok := sinks.Lookup("stdout")
	if !ok {
		t.Fatal(`type "stdout" is not registered`)
	}
	o := reg.NewOptions()
	if _, ok := o.(*Options); !ok {
		t.Fatalf("NewOptions gave %T", o)
	}
	if errs := o.Validate(); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}
	sk, err := reg.New("out", o)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := sk.(*Sink); !ok || s.w != os.Stdout || s.name != "out" {
		t.Fatalf("New gave %#v", sk)
	}
	err = sinks.Register(sinks.Registration{Type: "stdout", NewOptions: reg.NewOptions, New: reg.New})
	if err == nil || !strings.Contains(err.Error(), `"stdout" is already registered`) {
		t.Fatalf("duplicate registration: %v", err)
	}
}
