package enrich

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

var testFacts = &processor.Facts{
	Host:     []byte(`"node-1"`),
	Token:    []byte(`"payments"`),
	Stream:   []byte(`"checkout"`),
	StreamID: []byte(`"s1"`),
}

func set(path, raw string) processor.Assignment {
	return processor.Assignment{Path: path, Value: []byte(raw)}
}

func pair(k, v string) processor.Pair { return processor.Pair{Key: k, Value: v} }

// writeCSV writes a lookup table into a fresh directory and returns the directory.
func writeCSV(t testing.TB, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

const geoCSV = "ip,country,asn,note\n" +
	"203.0.113.42,FR,AS3215,\"quoted \"\"note\"\"\"\n" +
	"10.0.0.1,DE,,\"two\nlines\"\n"

func compile(t testing.TB, o *Options, dir string) processor.State {
	t.Helper()
	p, errs := o.Compile(&processor.Env{Dir: dir})
	if errs != nil {
		t.Fatalf("compile: %v", errs)
	}
	return p.NewState()
}

// check runs event through st twice (the state is reused) and wants out and outcome o; a
// Changed output must be appended to dst and be valid single-line JSON.
func check(t *testing.T, st processor.State, event, want string, o processor.Outcome) {
	t.Helper()
	for range 2 {
		ev := []byte(event)
		out, got := st.Process([]byte("prefix:"), ev, testFacts)
		if got != o {
			t.Fatalf("%s: outcome %v, want %v (out %q)", event, got, o, out)
		}
		if o == processor.Unchanged {
			if &out[0] != &ev[0] || len(out) != len(ev) {
				t.Fatalf("%s: Unchanged but out is %q, not the event", event, out)
			}
			continue
		}
		res, ok := bytes.CutPrefix(out, []byte("prefix:"))
		if !ok {
			t.Fatalf("%s: out %q is not appended to dst", event, out)
		}
		if string(res) != want {
			t.Fatalf("%s:\n got %s\nwant %s", event, res, want)
		}
		if !json.Valid(res) || bytes.ContainsAny(res, "\r\n") {
			t.Fatalf("%s: out %q is not single-line JSON", event, res)
		}
	}
}

func TestSet(t *testing.T) {
	st := compile(t, &Options{Set: []processor.Assignment{
		set("metadata.region", `"eu-west-1"`),
		set("event.flags", "{\"a\": [1, 2],\n \"b\": null}"),
		set("source", `"billing"`),
	}}, "")
	check(t, st, `{"source":"payments","event":{"status":"ok"},"metadata":{"env":"prod"}}`,
		`{"source":"billing","event":{"status":"ok","flags":{"a":[1,2],"b":null}},"metadata":{"env":"prod","region":"eu-west-1"}}`, processor.Changed)
	check(t, st, `{"source":"payments"}`,
		`{"source":"billing","metadata":{"region":"eu-west-1"},"event":{"flags":{"a":[1,2],"b":null}}}`, processor.Changed)
}

func TestRename(t *testing.T) {
	st := compile(t, &Options{Rename: []processor.Pair{pair("event.status", "event.state"), pair("source", "metadata.app")}}, "")
	check(t, st, `{"source":"payments","event":{"status":"ok","amount":5},"metadata":{}}`,
		`{"event":{"amount":5,"state":"ok"},"metadata":{"app":"payments"}}`, processor.Changed)
	check(t, st, `{"event":{"status":{"code":1}}}`, `{"event":{"state":{"code":1}}}`, processor.Changed)
	check(t, st, `{"event":{"amount":5}}`, "", processor.Unchanged)

	// Renaming to an ancestor replaces it with the field.
	st = compile(t, &Options{Rename: []processor.Pair{pair("event.payload", "event")}}, "")
	check(t, st, `{"event":{"id":1,"payload":{"a":1}},"source":"x"}`, `{"event":{"a":1},"source":"x"}`, processor.Changed)
	check(t, st, `{"event":{"id":1},"source":"x"}`, "", processor.Unchanged)
}

func TestCopy(t *testing.T) {
	st := compile(t, &Options{Copy: []processor.Pair{pair("source", "metadata.app"), pair("event.id", "event.trace.id")}}, "")
	check(t, st, `{"source":"payments","event":{"id":7},"metadata":{"env":"prod"}}`,
		`{"source":"payments","event":{"id":7,"trace":{"id":7}},"metadata":{"env":"prod","app":"payments"}}`, processor.Changed)
	check(t, st, `{"event":{}}`, "", processor.Unchanged)
}

func TestRemove(t *testing.T) {
	st := compile(t, &Options{Remove: []string{"event.ip", "metadata"}}, "")
	check(t, st, `{"source":"x","event":{"ip":"1.2.3.4","a":1},"metadata":{"env":"prod"}}`,
		`{"source":"x","event":{"a":1}}`, processor.Changed)
	// A remove always edits, so that every duplicate key is removed too.
	check(t, st, `{"source":"x"}`, `{"source":"x"}`, processor.Changed)
	check(t, st, `{"event":{"ip":1},"event":{"ip":2}}`, `{"event":{},"event":{}}`, processor.Changed)
}

func TestKeep(t *testing.T) {
	st := compile(t, &Options{Keep: []string{"timestamp", "event.status"}}, "")
	check(t, st, `{"timestamp":"t","source":"x","event":{"status":"ok","ip":"1.2.3.4"},"metadata":{"env":"prod"}}`,
		`{"timestamp":"t","event":{"status":"ok"}}`, processor.Changed)

	// What the step writes survives, and its values come from the whole event.
	st = compile(t, &Options{
		Keep:  []string{"event.status"},
		Set:   []processor.Assignment{set("metadata.kept", "true")},
		Copy:  []processor.Pair{pair("source", "metadata.app")},
		Facts: []processor.Pair{pair("metadata.host", "host")},
	}, "")
	check(t, st, `{"source":"x","event":{"status":"ok","ip":"1.2.3.4"},"metadata":{"env":"prod"}}`,
		`{"event":{"status":"ok"},"metadata":{"kept":true,"app":"x","host":"node-1"}}`, processor.Changed)
}

func TestFacts(t *testing.T) {
	st := compile(t, &Options{Facts: []processor.Pair{
		pair("metadata.host", "host"), pair("metadata.token", "token"),
		pair("metadata.stream", "stream"), pair("stream_id", "stream_id"),
	}}, "")
	check(t, st, `{"stream_id":"old","metadata":{}}`,
		`{"stream_id":"s1","metadata":{"host":"node-1","token":"payments","stream":"checkout"}}`, processor.Changed)

	// Empty facts write nothing.
	for _, f := range []*processor.Facts{{}, nil} {
		ev := []byte(`{"a":1}`)
		if out, o := st.Process(nil, ev, f); o != processor.Unchanged || string(out) != `{"a":1}` {
			t.Errorf("facts %v: got %v %q, want Unchanged", f, o, out)
		}
	}
	st = compile(t, &Options{Facts: []processor.Pair{pair("metadata.host", "host")}}, "")
	out, o := st.Process(nil, []byte(`{"a":1}`), &processor.Facts{Token: []byte(`"t"`)})
	if o != processor.Unchanged || string(out) != `{"a":1}` {
		t.Errorf("without a host: got %v %q, want Unchanged", o, out)
	}
}

func TestLookup(t *testing.T) {
	dir := writeCSV(t, "geo.csv", geoCSV)
	st := compile(t, &Options{Lookup: &Lookup{File: "geo.csv", Key: "event.ip", Into: "metadata.geo"}}, dir)
	check(t, st, `{"event":{"ip":"203.0.113.42"},"metadata":{"env":"prod"}}`,
		`{"event":{"ip":"203.0.113.42"},"metadata":{"env":"prod","geo":{"country":"FR","asn":"AS3215","note":"quoted \"note\""}}}`, processor.Changed)
	// An escaped key matches its decoded text; an empty cell is an empty string; a newline
	// in a cell is escaped.
	check(t, st, `{"event":{"ip":"10.0.0.\u0031"}}`,
		`{"event":{"ip":"10.0.0.\u0031"},"metadata":{"geo":{"country":"DE","asn":"","note":"two\nlines"}}}`, processor.Changed)
	for _, miss := range []string{`{"event":{"ip":"10.0.0.2"}}`, `{"event":{}}`, `{"event":{"ip":["10.0.0.1"]}}`, `{"event":{"ip":null}}`} {
		check(t, st, miss, "", processor.Unchanged)
	}

	// Numbers match by their text; the key column may be any column; the header may start
	// with a byte order mark.
	dir = writeCSV(t, "codes.csv", "\ufefflabel,code\nnot found,404\nteapot,418\n")
	st = compile(t, &Options{Lookup: &Lookup{File: filepath.Join(dir, "codes.csv"), Key: "event.code", Column: "code", Into: "event.http"}}, "")
	check(t, st, `{"event":{"code":404}}`, `{"event":{"code":404,"http":{"label":"not found"}}}`, processor.Changed)
	check(t, st, `{"event":{"code":"418"}}`, `{"event":{"code":"418","http":{"label":"teapot"}}}`, processor.Changed)
	check(t, st, `{"event":{"code":404.0}}`, "", processor.Unchanged)
	check(t, st, `{"event":{"code":true}}`, "", processor.Unchanged)
	st = compile(t, &Options{Lookup: &Lookup{File: "codes.csv", Key: "event.label", Into: "event.http"}}, dir)
	check(t, st, `{"event":{"label":"teapot"}}`, `{"event":{"label":"teapot","http":{"code":"418"}}}`, processor.Changed)
}

// combined is a step with one operation of each kind but keep, for tests and benchmarks.
func combined(t testing.TB) processor.State {
	dir := writeCSV(t, "geo.csv", geoCSV)
	return compile(t, &Options{
		Set:    []processor.Assignment{set("metadata.pipeline", `"enriched"`), set("metadata.version", `2`)},
		Rename: []processor.Pair{pair("event.transactionId", "event.txn")},
		Copy:   []processor.Pair{pair("event.ip", "metadata.client_ip")},
		Remove: []string{"event.user_agent"},
		Facts:  []processor.Pair{pair("metadata.host", "host"), pair("metadata.stream", "stream")},
		Lookup: &Lookup{File: "geo.csv", Key: "event.ip", Into: "metadata.geo"},
	}, dir)
}

func TestCombined(t *testing.T) {
	st := combined(t)
	check(t, st, `{"source":"x","event":{"transactionId":"t1","ip":"203.0.113.42","user_agent":"curl"},"metadata":{"env":"prod"}}`,
		`{"source":"x","event":{"ip":"203.0.113.42","txn":"t1"},"metadata":{"env":"prod","pipeline":"enriched","version":2,"client_ip":"203.0.113.42","host":"node-1","stream":"checkout","geo":{"country":"FR","asn":"AS3215","note":"quoted \"note\""}}}`,
		processor.Changed)
	check(t, st, `{"source":"x"}`,
		`{"source":"x","metadata":{"pipeline":"enriched","version":2,"host":"node-1","stream":"checkout"}}`, processor.Changed)

	// Every operation reads the event as it came in: the copy takes the old a, and the
	// rename and the copy of one source both find it.
	st = compile(t, &Options{
		Set:    []processor.Assignment{set("a", `"new"`)},
		Rename: []processor.Pair{pair("x", "y")},
		Copy:   []processor.Pair{pair("a", "b"), pair("x", "z")},
	}, "")
	check(t, st, `{"a":"old","x":{"n":1}}`, `{"a":"new","y":{"n":1},"b":"old","z":{"n":1}}`, processor.Changed)
}

func TestCompileErrors(t *testing.T) {
	dir := writeCSV(t, "geo.csv", geoCSV)
	file := func(name, content string) string {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	lookup := func(file string) *Options {
		return &Options{Lookup: &Lookup{File: file, Key: "event.ip", Into: "metadata.geo"}}
	}
	wide := "k"
	for i := range 64 {
		wide += ",c" + strings.Repeat("x", i)
	}
	cases := []struct {
		name string
		opts *Options
		key  string
		want string
	}{
		{"no-op", &Options{}, "", "enrich needs at least one of set, rename, copy, remove, keep, facts, lookup"},
		{"set path", &Options{Set: []processor.Assignment{set("metadata..x", "1")}}, "set.metadata..x", "segment 2 is empty"},
		{"set value", &Options{Set: []processor.Assignment{set("a", "{")}}, "set.a", "not valid JSON"},
		{"set empty value", &Options{Set: []processor.Assignment{set("a", "")}}, "set.a", "not valid JSON"},
		{"rename from", &Options{Rename: []processor.Pair{pair("event.a b", "x")}}, "rename.event.a b", `has the character ' '`},
		{"rename to", &Options{Rename: []processor.Pair{pair("event.a", "x..y")}}, "rename.event.a", "segment 2 is empty"},
		{"rename itself", &Options{Rename: []processor.Pair{pair("event.a", "event.a")}}, "rename.event.a", "itself"},
		{"rename inside", &Options{Rename: []processor.Pair{pair("event.a", "event.a.b")}}, "rename.event.a", "cannot rename event.a to event.a.b: the target is the field itself or lies inside it"},
		{"copy path", &Options{Copy: []processor.Pair{pair("a", "")}}, "copy.a", "empty"},
		{"remove path", &Options{Remove: []string{"a", "b.", "c"}}, "remove[1]", "segment 2 is empty"},
		{"keep path", &Options{Keep: []string{"a!"}}, "keep[0]", `has the character '!'`},
		{"fact name", &Options{Facts: []processor.Pair{pair("metadata.host", "hostname")}}, "facts.metadata.host",
			`unknown fact "hostname"; the facts are host, token, stream, stream_id`},
		{"fact path", &Options{Facts: []processor.Pair{pair("a..b", "host")}}, "facts.a..b", "segment 2 is empty"},
		{"conflict set remove", &Options{Set: []processor.Assignment{set("metadata.region", `"x"`)}, Remove: []string{"metadata"}},
			"remove[0]", "conflicts with set.metadata.region; split the edits into two enrich steps"},
		{"conflict same path", &Options{Set: []processor.Assignment{set("a", "1")}, Facts: []processor.Pair{pair("a", "host")}},
			"facts.a", "conflicts with set.a;"},
		{"conflict rename copy", &Options{Rename: []processor.Pair{pair("a", "b")}, Copy: []processor.Pair{pair("c", "b.d")}},
			"copy.c", "conflicts with rename.a;"},
		{"conflict rename chain", &Options{Rename: []processor.Pair{pair("a", "b"), pair("b", "c")}},
			"rename.b", "conflicts with rename.a;"},
		{"conflict lookup", &Options{Set: []processor.Assignment{set("metadata.geo.asn", "1")}, Lookup: &Lookup{File: "geo.csv", Key: "k", Into: "metadata.geo"}},
			"lookup.into", "conflicts with set.metadata.geo.asn;"},
		{"lookup key", &Options{Lookup: &Lookup{File: "geo.csv", Key: "a.", Into: "x"}}, "lookup.key", "segment 2 is empty"},
		{"lookup into", &Options{Lookup: &Lookup{File: "geo.csv", Key: "a", Into: ".x"}}, "lookup.into", "segment 1 is empty"},
		{"lookup into deep", &Options{Lookup: &Lookup{File: "geo.csv", Key: "a", Into: strings.Repeat("x.", 31) + "x"}}, "lookup.into", "at most 32"},
		{"missing file", lookup("nope.csv"), "lookup.file", "no such file"},
		{"empty file", lookup(file("empty.csv", "")), "lookup.file", "empty.csv is empty"},
		{"bad csv", lookup(file("bad.csv", "ip,a\n1,x\"y\n")), "lookup.file", `bad.csv: parse error on line 2, column 4: bare " in non-quoted-field`},
		{"field count", lookup(file("count.csv", "ip,a\n1,x\n2,y,z\n")), "lookup.file", "count.csv: record on line 3: wrong number of fields"},
		{"duplicate key", lookup(file("dup.csv", "ip,a\n1,x\n2,y\n1,z\n")), "lookup.file", `dup.csv line 4: key "1" repeats the row of line 2`},
		{"column name", lookup(file("col.csv", "ip,geo.country\n1,x\n")), "lookup.file", `col.csv: column "geo.country" cannot be a field name`},
		{"column blank", lookup(file("blank.csv", "ip,\n1,x\n")), "lookup.file", `column "" cannot be a field name`},
		{"column twice", lookup(file("twice.csv", "ip,a,a\n1,x,y\n")), "lookup.file", `column "a" appears twice`},
		{"key column only", lookup(file("one.csv", "ip\n1\n")), "lookup.file", "has only the key column"},
		{"too many columns", lookup(file("wide.csv", wide+"\n")), "lookup.file", "has 65 columns; a lookup table may have at most 64"},
		{"unknown column", &Options{Lookup: &Lookup{File: "geo.csv", Key: "a", Column: "addr", Into: "x"}}, "lookup.column",
			`geo.csv has no column "addr"; its columns are ip, country, asn, note`},
	}
	for _, c := range cases {
		_, errs := c.opts.Compile(&processor.Env{Dir: dir})
		if len(errs) != 1 || errs[0].Key != c.key || !strings.Contains(errs[0].Msg, c.want) {
			t.Errorf("%s: got %q, want one error at %q containing %q", c.name, errs, c.key, c.want)
		}
	}
}

func TestCompileReportsEveryError(t *testing.T) {
	o := &Options{
		Set:    []processor.Assignment{set("a..b", "1")},
		Remove: []string{""},
		Lookup: &Lookup{},
	}
	_, errs := o.Compile(&processor.Env{})
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	if got, want := strings.Join(keys, " "), "set.a..b remove[0] lookup.key lookup.into lookup.file"; got != want {
		t.Errorf("keys %q, want %q (errors %v)", got, want, errs)
	}
}

func TestLookupLimits(t *testing.T) {
	dir := writeCSV(t, "geo.csv", geoCSV)
	o := &Options{Lookup: &Lookup{File: "geo.csv", Key: "event.ip", Into: "metadata.geo"}}
	defer func(b int64, r int) { maxFileBytes, maxRows = b, r }(maxFileBytes, maxRows)

	maxRows = 1
	_, errs := o.Compile(&processor.Env{Dir: dir})
	if len(errs) != 1 || errs[0].Key != "lookup.file" || errs[0].Msg != "geo.csv has more than 1 rows" {
		t.Errorf("rows: got %v", errs)
	}
	maxRows = 2
	if _, errs := o.Compile(&processor.Env{Dir: dir}); errs != nil {
		t.Errorf("rows at the limit: got %v", errs)
	}

	maxFileBytes = int64(len(geoCSV)) - 1
	_, errs = o.Compile(&processor.Env{Dir: dir})
	if len(errs) != 1 || errs[0].Key != "lookup.file" || !strings.Contains(errs[0].Msg, "a lookup table may have at most") {
		t.Errorf("size: got %v", errs)
	}
	maxFileBytes = int64(len(geoCSV))
	if _, errs := o.Compile(&processor.Env{Dir: dir}); errs != nil {
		t.Errorf("size at the limit: got %v", errs)
	}
}

// An event decoded back must hold what the step wrote.
func TestCombinedDecodes(t *testing.T) {
	st := combined(t)
	out, _ := st.Process(nil, []byte(benchEvent), testFacts)
	var got struct {
		Event struct {
			Txn, TransactionID, UserAgent string `json:",omitempty"`
		}
		Metadata map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Event.Txn != "txn_30921" || got.Event.TransactionID != "" {
		t.Errorf("rename: got %+v", got.Event)
	}
	geo, _ := got.Metadata["geo"].(map[string]any)
	if geo["country"] != "FR" || got.Metadata["client_ip"] != "203.0.113.42" || got.Metadata["host"] != "node-1" || got.Metadata["version"] != 2.0 {
		t.Errorf("metadata: got %v", got.Metadata)
	}
	if bytes.Contains(out, []byte("user_agent")) {
		t.Errorf("user_agent not removed: %s", out)
	}
}

const benchEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"declined","amount":1234.5,"currency":"EUR","ip":"203.0.113.42","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Firefox/133.0","path":"/api/v2/checkout","card":{"brand":"visa","last4":"4242"},"message":"card declined by issuer: insufficient funds for order ord_88412"},"metadata":{"env":"prod","team":"payments","region":"eu-west-1"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z"}`

func BenchmarkEnrich(b *testing.B) {
	run := func(name string, st processor.State) {
		b.Run(name, func(b *testing.B) {
			ev := []byte(benchEvent)
			dst := make([]byte, 0, 2*len(ev))
			b.ReportAllocs()
			b.SetBytes(int64(len(ev)))
			for b.Loop() {
				dst, _ = st.Process(dst[:0], ev, testFacts)
			}
		})
	}
	run("set 2 fields", compile(b, &Options{Set: []processor.Assignment{
		set("metadata.pipeline", `"enriched"`), set("event.reviewed", "true"),
	}}, ""))
	run("set+rename+copy+remove+facts+lookup", combined(b))
}
