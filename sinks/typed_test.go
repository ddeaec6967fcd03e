package sinks

import (
	"context"
	"errors"
	"testing"
)

type testOptions struct{ fail bool }

func (*testOptions) Validate() []FieldError { return nil }

type otherOptions struct{}

func (*otherOptions) Validate() []FieldError { return nil }

type testSink struct{}

func (*testSink) Connect(context.Context) error            { return nil }
func (*testSink) WriteBatch(context.Context, *Batch) error { return nil }
func (*testSink) Close(context.Context) error              { return nil }

// TestTyped: the Registration checks the options' type, and a failing constructor gives a nil
// Sink rather than one holding a nil pointer.
func TestTyped(t *testing.T) {
	r := Typed("test", 3, func() *testOptions { return &testOptions{} },
		func(_ string, o *testOptions) (*testSink, error) {
			if o.fail {
				return nil, errors.New("refused")
			}
			return &testSink{}, nil
		})
	if r.Type != "test" || r.Concurrency != 3 {
		t.Fatalf("registration %+v", r)
	}
	if _, ok := r.NewOptions().(*testOptions); !ok {
		t.Fatalf("NewOptions gives %T", r.NewOptions())
	}
	if s, err := r.New("a", &testOptions{}); err != nil || s == nil {
		t.Fatalf("New: %v, %v", s, err)
	}
	if s, err := r.New("a", &testOptions{fail: true}); err == nil || s != nil {
		t.Fatalf("a failing constructor gave %#v, %v", s, err)
	}
	_, err := r.New("a", &otherOptions{})
	if want := `test sink "a": options are *sinks.otherOptions, not *sinks.testOptions`; err == nil || err.Error() != want {
		t.Fatalf("wrong options: %v, want %s", err, want)
	}
}
