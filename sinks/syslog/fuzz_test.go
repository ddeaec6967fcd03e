package syslog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// FuzzEncode checks that any event gives a well-formed RFC 5424 message: a PRI in range, header
// fields of printable ASCII, structured data whose values stay inside their quotes, the message
// field's text (or the line) as MSG, and no LF where LF ends messages.
func FuzzEncode(f *testing.F) {
	f.Add(mapped)
	f.Add(event)
	enc := func(framing string) *encoder {
		o := NewOptions()
		o.Address, o.Hostname, o.Framing = "127.0.0.1:514", "host", framing
		allOptions(o)
		e, err := newEncoder(o)
		if err != nil {
			f.Fatal(err)
		}
		return e
	}
	encoders := []*encoder{enc(FramingOctetCounting), enc(FramingNonTransparent)}
	msgPath := fieldpath.MustParse("event.message")
	f.Fuzz(func(t *testing.T, line string) {
		var obj map[string]any
		if bytes.ContainsAny([]byte(line), "\n\r") || json.Unmarshal([]byte(line), &obj) != nil {
			return // events are single-line JSON objects
		}
		for _, e := range encoders {
			out := e.appendMessage(nil, []byte(line), make([]fieldpath.Value, e.set.Len()))
			rest := checkHeader(t, out)
			wantMsg := []byte(line)
			if v, ok := fieldpath.Lookup([]byte(line), msgPath); ok {
				wantMsg = appendText(nil, v)
			}
			if e.nonTransparent {
				wantMsg = bytes.ReplaceAll(wantMsg, []byte("\n"), []byte(" "))
				if bytes.IndexByte(out, '\n') >= 0 {
					t.Fatalf("LF in a non-transparent message: %q", out)
				}
			}
			if !bytes.Equal(rest, wantMsg) {
				t.Fatalf("MSG %q, want %q", rest, wantMsg)
			}
		}
	})
}

// checkHeader parses the HEADER and STRUCTURED-DATA of an RFC 5424 message and returns its MSG.
func checkHeader(t *testing.T, m []byte) []byte {
	t.Helper()
	end := bytes.IndexByte(m, '>')
	if m[0] != '<' || end < 2 || !bytes.HasPrefix(m[end+1:], []byte("1 ")) {
		t.Fatalf("bad PRI or VERSION: %q", m)
	}
	if pri, err := strconv.Atoi(string(m[1:end])); err != nil || pri > 191 {
		t.Fatalf("PRI %q", m[1:end])
	}
	m = m[end+3:]
	for field := range 5 { // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
		sp := bytes.IndexByte(m, ' ')
		if sp < 1 {
			t.Fatalf("header field %d missing in %q", field, m)
		}
		for _, c := range m[:sp] {
			if c <= ' ' || c > '~' {
				t.Fatalf("header field %d %q is not printable ASCII", field, m[:sp])
			}
		}
		m = m[sp+1:]
	}
	if m[0] == '-' {
		return m[2:]
	}
	// SD-ELEMENTs: [id name="value" ...] with '"', '\' and ']' escaped in values.
	for len(m) > 0 && m[0] == '[' {
		i := 1
		for i < len(m) && m[i] != ']' {
			if m[i] == '"' {
				for i++; i < len(m) && m[i] != '"'; i++ {
					if m[i] == '\\' {
						i++
						if i == len(m) || m[i] != '"' && m[i] != '\\' && m[i] != ']' {
							t.Fatalf("bad escape in %q", m)
						}
					} else if m[i] == ']' {
						t.Fatalf("unescaped ] in a value: %q", m)
					}
				}
			}
			i++
		}
		if i >= len(m) {
			t.Fatalf("unterminated SD-ELEMENT: %q", m)
		}
		m = m[i+1:]
	}
	if len(m) == 0 || m[0] != ' ' {
		t.Fatalf("no SP after STRUCTURED-DATA: %q", m)
	}
	return m[1:]
}
