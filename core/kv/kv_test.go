package kv

import (
	"strings"
	"testing"
)

func mustNew(t testing.TB, o Options) *Parser {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return p
}

// Each case runs twice on one Parser, appending to a buffer that already holds something, so
// that reuse and append are both checked.
func TestAppendJSON(t *testing.T) {
	f := func(o Options, in, want string) {
		t.Helper()
		p := mustNew(t, o)
		for range 2 {
			got, err := p.AppendJSON([]byte("prefix"), []byte(in))
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if string(got) != "prefix"+want {
				t.Fatalf("%q:\ngot  %s\nwant %s", in, got[len("prefix"):], want)
			}
		}
	}
	d := DefaultOptions()

	// logfmt
	f(d, `level=info msg="user logged in" user=bob latency=12ms`,
		`{"level":"info","msg":"user logged in","user":"bob","latency":"12ms"}`)
	f(d, ``, `{}`)
	f(d, " \t\r\n ", `{}`)
	f(d, "  a=1 \t b=2\r\n", `{"a":"1","b":"2"}`)
	f(d, `a= b=2 c=`, `{"a":"","b":"2","c":""}`)
	f(d, `url=http://h/?a=b&c==d`, `{"url":"http://h/?a=b&c==d"}`)
	f(d, `n=007 ok=true f=1.5`, `{"n":"007","ok":"true","f":"1.5"}`)

	// quotes
	f(d, `a="" b=''`, `{"a":"","b":""}`)
	f(d, `msg="say \"hi\" \\ bye"`, `{"msg":"say \"hi\" \\ bye"}`)
	f(d, `path="C:\temp\n"`, `{"path":"C:\\temp\\n"}`)
	f(d, `q='it"s \ raw'`, `{"q":"it\"s \\ raw"}`)
	f(d, `"my key"=1 'other key'="x=y z"`, `{"my key":"1","other key":"x=y z"}`)
	f(d, `don't=it's a"b=c"d`, `{"don't":"it's","a\"b":"c\"d"}`)
	f(d, "m=\"line1\nline2\ttab\x01\x1f\"", `{"m":"line1\nline2\ttab\u0001\u001f"}`)
	f(d, `a="x"`+"\t"+`b='y'`, `{"a":"x","b":"y"}`)
	f(Options{PairSeparator: " ", ValueSeparator: "=", Quotes: false}, `a="x" 'b'=c\`,
		`{"a":"\"x\"","'b'":"c\\"}`)

	// UTF-8: valid kept, every invalid byte becomes U+FFFD
	f(d, `ü=ñ 日本=語`, `{"ü":"ñ","日本":"語"}`)
	f(d, "a=x\xffy b=\"\xe2\x82\" c=\x7f", "{\"a\":\"x\ufffdy\",\"b\":\"\ufffd\ufffd\",\"c\":\"\x7f\"}")

	// duplicates: the last is written, in its place
	f(d, `a=1 b=2 a=3`, `{"b":"2","a":"3"}`)
	f(d, `a=1 a=2 a=3`, `{"a":"3"}`)
	f(d, `"a"=1 a=2 'a'=3 b=4`, `{"a":"3","b":"4"}`)
	f(d, `"a\"b"=1 'a"b'=2 a"b=3 "a\\b"=4 'a\b'=5`, `{"a\"b":"3","a\\b":"5"}`)
	f(d, "\xff=1 \xfe=2 \ufffd=3 x=4", "{\"\ufffd\":\"3\",\"x\":\"4\"}")
	f(d, `ab=1 ba=2 a=3 b=4`, `{"ab":"1","ba":"2","a":"3","b":"4"}`)
	f(d, `yaczf=1 glbpp=2`, `{"yaczf":"1","glbpp":"2"}`) // one 32-bit FNV-1a hash, two keys

	// other separators: blanks around keys and unquoted values are trimmed
	comma := Options{PairSeparator: ",", ValueSeparator: ":", Quotes: true}
	f(comma, ` a: 1, b :2 ,, c:"x, y" ,d : 'z' ,`, `{"a":"1","b":"2","c":"x, y","d":"z"}`)
	f(comma, `a b:c d, "k" : v`, `{"a b":"c d","k":"v"}`)
	f(comma, "a:\r\n", `{"a":""}`)
	f(Options{PairSeparator: "&", ValueSeparator: "=", Quotes: false}, `a=1&&b="2"&c=x y`,
		`{"a":"1","b":"\"2\"","c":"x y"}`)
	f(Options{PairSeparator: "\t", ValueSeparator: "=", Quotes: true}, "a=x y\t\tb= z ", `{"a":"x y","b":"z"}`)

	// one separator inside the other: the longer is tried first
	f(Options{PairSeparator: "==", ValueSeparator: "=", Quotes: true}, `a=1==b=2====c=`, `{"a":"1","b":"2","c":""}`)
	f(Options{PairSeparator: "=", ValueSeparator: "==", Quotes: true}, `a==1==b==x=`, `{"a":"1","b":"x"}`)
	f(Options{PairSeparator: ", ", ValueSeparator: " ", Quotes: true}, `a 1, b  2, "c d" 3`, `{"a":"1","b":"2","c d":"3"}`)
	f(Options{PairSeparator: ";", ValueSeparator: " => ", Quotes: true}, `a => 1;b => "x;y"`, `{"a":"1","b":"x;y"}`)

	// the bound is inclusive
	f(d, strings.Repeat("k=v ", MaxPairs), `{"k":"v"}`)
}

// Every error leaves dst as it came.
func TestAppendJSONErrors(t *testing.T) {
	f := func(o Options, in, want string) {
		t.Helper()
		p := mustNew(t, o)
		dst := make([]byte, 3, 64)
		copy(dst, "abc")
		got, err := p.AppendJSON(dst, []byte(in))
		if err == nil || err.Error() != want {
			t.Fatalf("%q: error %v, want %s", in, err, want)
		}
		if string(got) != "abc" || cap(got) != 64 {
			t.Fatalf("%q: dst became %q", in, got)
		}
	}
	d := DefaultOptions()
	comma := Options{PairSeparator: ",", ValueSeparator: ":", Quotes: true}

	// a token without the value separator
	f(d, `a=1 b=2 foo c=3`, `kv: token 3 'foo' has no '='`)
	f(d, `a=1 foo`, `kv: token 2 'foo' has no '='`)
	f(d, `"x y" a=1`, `kv: token 1 '"x y"' has no '='`)
	f(d, `"x y"`, `kv: token 1 '"x y"' has no '='`)
	f(d, "\x01\xff", `kv: token 1 '\x01\xff' has no '='`)
	f(d, `a\"b`, `kv: token 1 'a\\"b' has no '='`)
	f(d, strings.Repeat("w", 50), `kv: token 1 '`+strings.Repeat("w", 40)+`...' has no '='`)
	f(comma, `a:1, b c ,d:2`, `kv: token 2 'b c' has no ':'`)
	f(comma, `"k" v:1`, `kv: token 1 '"k" v:1' has no ':'`)
	f(Options{PairSeparator: "=", ValueSeparator: "=>", Quotes: true}, `a=>1=b`, `kv: token 2 'b' has no '=>'`)

	// an empty key
	f(d, `=1`, `kv: token 1 at byte 0 has an empty key`)
	f(d, `a=1 ""=2`, `kv: token 2 at byte 4 has an empty key`)
	f(d, `a=1 ''=2`, `kv: token 2 at byte 4 has an empty key`)
	f(comma, `a:1,  :2`, `kv: token 2 at byte 6 has an empty key`)

	// an open quote
	f(d, `a="x`, `kv: token 1: the quote at byte 2 is not closed`)
	f(d, `a=1 b='x y`, `kv: token 2: the quote at byte 6 is not closed`)
	f(d, `a="x\"`, `kv: token 1: the quote at byte 2 is not closed`)
	f(d, `"a=1`, `kv: token 1: the quote at byte 0 is not closed`)
	f(d, `a=1 'b=2`, `kv: token 2: the quote at byte 4 is not closed`)

	// more after a closing quote
	f(d, `a="x"y b=1`, `kv: token 1: unexpected 'y' after the closing quote at byte 4`)
	f(d, `a="x""y"`, `kv: token 1: unexpected '"' after the closing quote at byte 4`)
	f(comma, `a:"x" y,b:1`, `kv: token 1: unexpected 'y' after the closing quote at byte 4`)

	// the bound
	f(d, strings.Repeat("k=v ", MaxPairs+1), `kv: more than 256 pairs`)
}

func TestNewErrors(t *testing.T) {
	f := func(o Options, want string) {
		t.Helper()
		p, err := New(o)
		if err == nil || err.Error() != want || p != nil {
			t.Fatalf("New(%+v) = %v, %v, want error %s", o, p, err, want)
		}
	}
	f(Options{ValueSeparator: "="}, `kv: the pair separator is empty`)
	f(Options{PairSeparator: " "}, `kv: the value separator is empty`)
	f(Options{PairSeparator: ",", ValueSeparator: ","}, `kv: the pair and value separators are both ","`)
	f(Options{PairSeparator: " ", ValueSeparator: " "}, `kv: the pair and value separators are both " "`)
	f(Options{PairSeparator: " ", ValueSeparator: "\t"}, `kv: the value separator "\t" holds a blank, which separates pairs when the pair separator is " "`)
	f(Options{PairSeparator: " ", ValueSeparator: " = "}, `kv: the value separator " = " holds a blank, which separates pairs when the pair separator is " "`)
}

func TestConcurrentUse(t *testing.T) {
	p := mustNew(t, DefaultOptions())
	in := []byte(`a=1 b="two words" a=3 c='x'`)
	const want = `{"b":"two words","a":"3","c":"x"}`
	done := make(chan string)
	for range 4 {
		go func() {
			var buf []byte
			for range 200 {
				buf, _ = p.AppendJSON(buf[:0], in)
				if string(buf) != want {
					done <- string(buf)
					return
				}
			}
			done <- want
		}()
	}
	for range 4 {
		if got := <-done; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}
