package condition

import (
	"strings"
	"sync"
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// event is a seed-like event with a field of every kind, escapes, and a repeated key.
const event = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"declined","latency_ms":182,"amount":1499.5,"currency":"USD","approved":false,"retry":true,"note":null,"tags":["a","b"],"card":{"brand":"visa","last4":"4242"},"message":"payment declined: \"insufficient funds\" for ord_88412","escaped":"caf\u00e9 \u0064eclined","path":"/api/v2/checkout/confirm","big":1e400,"neg":-12,"empty":"","zero":0,"same":1499.5,"status_copy":"declined","dup":"first","dup":"last","user-agent":"curl/8.5","@type":"payment"},"metadata":{"env":"prod","team":"payments"}}`

func TestEval(t *testing.T) {
	// f compiles src and evaluates it on event twice; the compiled condition must also agree
	// with its negation.
	f := func(src string, want bool) {
		t.Helper()
		c, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(%s): %v", src, err)
		}
		if c.String() != src {
			t.Fatalf("String() = %q, want %q", c.String(), src)
		}
		for range 2 {
			if got := c.Eval([]byte(event)); got != want {
				t.Fatalf("%s = %v, want %v", src, got, want)
			}
		}
		if got := mustCompile(t, "!("+src+")").Eval([]byte(event)); got == want {
			t.Fatalf("!(%s) = %v, want %v", src, got, !want)
		}
	}

	// == and != on strings
	f(`event.status == "declined"`, true)
	f(`event.status == "approved"`, false)
	f(`event.status != "approved"`, true)
	f(`event.status != "declined"`, false)
	f(`"declined" == event.status`, true)
	f(`source == 'payments-app'`, true)
	f(`event.empty == ""`, true)
	f(`event.status == "Declined"`, false)
	f(`event.status == "declined "`, false)
	f(`event.card.brand == "visa"`, true)
	f(`metadata.env == "prod"`, true)
	f("event.currency == `USD`", true)

	// == and != on numbers, bools and nil
	f(`event.amount == 1499.5`, true)
	f(`event.latency_ms == 182`, true)
	f(`event.latency_ms == 182.0`, true)
	f(`event.latency_ms != 183`, true)
	f(`event.neg == -12`, true)
	f(`event.zero == 0`, true)
	f(`event.zero == -0`, true)
	f(`event.approved == false`, true)
	f(`event.approved == true`, false)
	f(`event.retry == true`, true)
	f(`event.retry != false`, true)
	f(`true == event.retry`, true)
	f(`event.note == nil`, true)
	f(`event.missing == nil`, true)
	f(`nil == event.missing`, true)
	f(`event.status == nil`, false)
	f(`event.status != nil`, true)
	f(`event.note != nil`, false)
	f(`event.card != nil`, true)

	// a type mismatch or a missing field makes a comparison false, and != true
	f(`event.latency_ms == "182"`, false)
	f(`event.latency_ms != "182"`, true)
	f(`event.status == 0`, false)
	f(`event.approved == 0`, false)
	f(`event.note == false`, false)
	f(`event.missing == ""`, false)
	f(`event.missing != ""`, true)
	f(`event.missing == false`, false)
	f(`event.status.x == "declined"`, false)
	f(`event.tags == "a"`, false)
	f(`event.card == event.card`, false)
	f(`event.card != event.card`, true)

	// ordering numbers, numerically
	f(`event.amount > 1000`, true)
	f(`event.amount > 1499.5`, false)
	f(`event.amount >= 1499.5`, true)
	f(`event.amount < 1500`, true)
	f(`event.amount <= 1499.4`, false)
	f(`event.latency_ms < 1e3`, true)
	f(`event.neg < -11.5`, true)
	f(`event.neg > -12`, false)
	f(`event.big > 1e308`, true)
	f(`event.latency_ms > 0x10`, true)
	f(`event.latency_ms < 1_000`, true)
	f(`1000 < event.amount`, true)
	f(`1000 > event.amount`, false)
	f(`1499.5 <= event.amount`, true)
	f(`1499.5 >= event.amount`, true)
	f(`-20 < event.neg`, true)
	// ordering strings, by bytes of the unescaped content
	f(`event.status > "decline"`, true)
	f(`event.status < "declined"`, false)
	f(`event.status <= "declined"`, true)
	f(`event.status < "e"`, true)
	f(`event.status > "D"`, true)
	f(`event.escaped > "caf"`, true)
	f(`event.escaped < "cafe"`, false)
	f(`event.escaped >= "café declined"`, true)
	f(`event.escaped > "café declined"`, false)
	f(`"z" > event.status`, true)
	// ordering across types or with missing fields is false, both ways
	f(`event.latency_ms > "1"`, false)
	f(`event.latency_ms < "1"`, false)
	f(`event.status > 1`, false)
	f(`event.status < 1`, false)
	f(`event.missing > 1`, false)
	f(`event.missing <= 1`, false)
	f(`event.approved < 1`, false)

	// two fields
	f(`event.amount == event.same`, true)
	f(`event.amount >= event.same`, true)
	f(`event.amount > event.latency_ms`, true)
	f(`event.latency_ms > event.amount`, false)
	f(`event.status == event.status_copy`, true)
	f(`event.status == event.currency`, false)
	f(`event.status > event.currency`, true)
	f(`event.escaped < event.status`, true)
	f(`event.escaped == event.escaped`, true)
	f(`event.approved == event.retry`, false)
	f(`event.approved == event.approved`, true)
	f(`event.approved < event.retry`, false)
	f(`event.note == event.note`, true)
	f(`event.note < event.note`, false)
	f(`event.missing == event.missing`, false)
	f(`event.missing != event.other`, true)
	f(`event.status == event.latency_ms`, false)
	f(`event.status < event.latency_ms`, false)
	f(`event.card.last4 == "4242" && event.card.last4 < event.card.brand`, true)

	// in and not in
	f(`event.status in ["approved", "declined"]`, true)
	f(`event.status in ["approved", "refunded"]`, false)
	f(`event.status not in ["approved", "refunded"]`, true)
	f(`event.status not in ["declined"]`, false)
	f(`event.status in []`, false)
	f(`event.latency_ms in [1, 182, "x"]`, true)
	f(`event.latency_ms in ["182"]`, false)
	f(`event.neg in [-12]`, true)
	f(`event.retry in [true]`, true)
	f(`event.missing in ["a", 1]`, false)
	f(`event.missing not in ["a", 1]`, true)
	f(`event.missing in [nil]`, true)
	f(`event.note in ["a", nil]`, true)
	f(`event.escaped in ["café declined"]`, true)
	f(`metadata.env in ["prod", "staging"]`, true)

	// contains, startsWith, endsWith
	f(`event.message contains "insufficient"`, true)
	f(`event.message contains "\"insufficient funds\""`, true)
	f(`event.message contains "sufficient funds\" for"`, true)
	f(`event.message contains "refund"`, false)
	f(`event.message not contains "refund"`, true)
	f(`event.path startsWith "/api/v2/"`, true)
	f(`event.path startsWith "/api/v3/"`, false)
	f(`event.path endsWith "/confirm"`, true)
	f(`event.path endsWith "confirm/"`, false)
	f(`event.escaped startsWith "café"`, true)
	f(`event.escaped endsWith " declined"`, true)
	f(`event.escaped contains "é d"`, true)
	f(`event.empty contains ""`, true)
	f(`event.status contains ""`, true)
	f(`"/api/v2/checkout/confirm/extra" startsWith event.path`, true)
	f(`"declined" contains event.status`, true)
	f(`event.message contains event.status`, true)
	f(`event.escaped endsWith event.status`, true)
	f(`event.status contains event.escaped`, false)
	f(`event.latency_ms contains "18"`, false)
	f(`event.missing contains ""`, false)
	f(`event.tags contains "a"`, false)

	// matches, on the unescaped content
	f(`event.transactionId matches "^txn_[0-9]+$"`, true)
	f(`event.transactionId matches "^txn_[a-z]+$"`, false)
	f(`event.status matches "clin"`, true)
	f(`event.escaped matches "^caf\u00e9 "`, true)
	f(`event.escaped matches "^café d"`, true)
	f(`event.escaped matches "^caf.\\s"`, true)
	f(`event.message matches "\"insufficient"`, true)
	f(`event.status not matches "^app"`, true)
	f(`event.latency_ms matches "1"`, false)
	f(`event.missing matches ""`, false)

	// exists
	f(`exists(event.status)`, true)
	f(`exists(event.note)`, true)
	f(`exists(event.card.last4)`, true)
	f(`exists(event.card)`, true)
	f(`exists(event.missing)`, false)
	f(`exists(event.status.x)`, false)
	f(`!exists(event.missing)`, true)
	f(`not exists(event.missing)`, true)

	// field names: bracket notation, keys only bracket notation reaches, a repeated key
	f(`event["user-agent"] == "curl/8.5"`, true)
	f(`event["@type"] == "payment"`, true)
	f(`event['status'] == "declined"`, true)
	f(`event.dup == "last"`, true)

	// logic, precedence and parentheses
	f(`true`, true)
	f(`false`, false)
	f(`event.status == "declined" && event.amount > 1000`, true)
	f(`event.status == "declined" and event.amount > 2000`, false)
	f(`event.status == "approved" || event.amount > 1000`, true)
	f(`event.status == "approved" or event.amount > 2000`, false)
	f(`!(event.status == "approved")`, true)
	f(`not (event.status == "declined")`, false)
	f(`!!(event.status == "declined")`, true)
	f(`true || false && false`, true)
	f(`(true || false) && false`, false)
	f(`event.status == "declined" || event.amount > 2000 && event.retry == false`, true)
	f(`(event.status == "declined" || event.amount > 2000) && event.retry == false`, false)
	f(`event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`, true)
	f(`event.status == "approved" && event.amount > 1000 || metadata.env in ["dev"]`, false)
	f(`1000 < event.amount < 2000`, true)
	f(`1000 < event.amount < 1200`, false)
	f("event.status == \"declined\"\n  && event.amount > 1000", true)
}

// mustCompile compiles src or fails the test.
func mustCompile(t testing.TB, src string) *Cond {
	t.Helper()
	c, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%s): %v", src, err)
	}
	return c
}

func TestEvalOtherEvents(t *testing.T) {
	f := func(src, obj string, want bool) {
		t.Helper()
		if got := mustCompile(t, src).Eval([]byte(obj)); got != want {
			t.Fatalf("%s on %s = %v, want %v", src, obj, got, want)
		}
	}
	// escaped strings longer than any stack buffer, on both sides of an operator
	long := strings.Repeat("x", 300)
	f(`a contains "xy"`, `{"a":"`+long+`\u0079"}`, true)
	f(`a endsWith "é"`, `{"a":"`+long+`\u00e9"}`, true)
	f(`a matches "^x{300}\n$"`, `{"a":"`+long+`\n"}`, true)
	f(`a == b`, `{"a":"`+long+`\n","b":"`+long+`\u000a"}`, true)
	f(`a < b`, `{"a":"`+long+`\n","b":"`+long+`\u000b"}`, true)
	f(`a > b`, `{"a":"`+long+`\n","b":"`+long+`\u000b"}`, false)
	f(`a contains b`, `{"a":"`+long+`\"","b":"x\""}`, true)
	f(`a startsWith b`, `{"a":"\"`+long+`","b":"\"x"}`, true)
	// whitespace inside the event
	f(`a.b == 1 && c == "d"`, " {\n \"a\" : { \"b\" : 1 } ,\n \"c\" : \"d\" }\n", true)
	// the same field twice reads it once, and a later duplicate object replaces all of it
	f(`a.b == 1 || a.c == 2`, `{"a":{"b":1},"a":{"c":3}}`, false)
	f(`exists(a.b) || a.c == 3`, `{"a":{"b":1},"a":{"c":3}}`, true)
	// not an object at all
	f(`exists(a)`, `[{"a":1}]`, false)
	f(`a == nil`, `[]`, true)
}

// TestEvalInvalid feeds malformed objects, which Eval need not understand but must survive.
func TestEvalInvalid(t *testing.T) {
	c := mustCompile(t, `a contains "x" || a matches "x" || a < b || a == b || a == "x" || a > 1 || a in ["x", 1, true]`)
	f := func(obj string) {
		t.Helper()
		// Any answer will do; a panic would stop a shard worker. Without spare capacity, a
		// read past the end panics too.
		b := []byte(obj)
		_ = c.Eval(b[:len(b):len(b)])
	}
	f(`{"a":"`)
	f(`{"a":"\u00`)
	f(`{"b":"y","a":"`)
	f(`{"b":tru`)
	f(`{"a":`)
	f(`{"a"`)
	f(`{"a":"\`)
	f(`{"\`)
	f(``)
}

func TestEvalConcurrent(t *testing.T) {
	c := mustCompile(t, `a contains "é" && b matches "^\"q" && a > b`)
	obj := []byte(`{"a":"caf\u00e9","b":"\"quoted\""}`)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if !c.Eval(obj) {
					t.Error("Eval = false")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCompileErrors(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		c, err := Compile(src)
		if err == nil {
			t.Fatalf("Compile(%s) = %v, want an error", src, c)
		}
		if got := err.Error(); got != want {
			t.Fatalf("Compile(%s):\n got %s\nwant %s", src, got, want)
		}
	}
	// syntax
	f(`event.a ==`, `condition 'event.a ==': column 10: the condition ends too early`)
	f(`(event.a == 1`, `condition '(event.a == 1': column 13: the condition ends too early`)
	f(`event.a == 1)`, `condition 'event.a == 1)': column 13: unexpected token Bracket(")")`)
	f(``, `condition '': column 1: the condition ends too early`)
	f(`event.a = 1`, `condition 'event.a = 1': column 9: unexpected token Operator("=")`)
	f(`event.a == "x`, `condition 'event.a == "x': column 14: literal not terminated`)
	f("event.a ==\n  @", "condition 'event.a ==\n  @': line 2, column 3: unrecognized character: U+0040 '@'")
	f(`é.a == 1 && b ==`, `condition 'é.a == 1 && b ==': column 16: the condition ends too early`)

	// not conditions
	f(`event.a`, `condition 'event.a': column 7: event.a is a field, not a condition: compare it (event.a == true) or test exists(event.a)`)
	f(`event.a && event.b == 1`, `condition 'event.a && event.b == 1': column 7: event.a is a field, not a condition: compare it (event.a == true) or test exists(event.a)`)
	f(`!event.a == 1`, `condition '!event.a == 1': column 1: ! applies to event.a alone, which is a field, not a condition: put the comparison in parentheses, as in !(event.a == ...), or test exists(event.a)`)
	f(`!event.a`, `condition '!event.a': column 1: ! applies to event.a alone, which is a field, not a condition: put the comparison in parentheses, as in !(event.a == ...), or test exists(event.a)`)
	f(`not event.a == 1`, `condition 'not event.a == 1': column 1: not applies to event.a alone, which is a field, not a condition: put the comparison in parentheses, as in not(event.a == ...), or test exists(event.a)`)
	f(`"x"`, `condition '"x"': column 1: "x" is a value, not a condition`)
	f(`1 || a == 1`, `condition '1 || a == 1': column 1: 1 is a value, not a condition`)
	f(`nil`, `condition 'nil': column 1: nil is a value, not a condition`)
	f(`-1`, `condition '-1': column 1: -1 is a value, not a condition`)

	// operands
	f(`1 == 2`, `condition '1 == 2': column 3: == compares two literals; one side must be a field`)
	f(`"a" contains "b"`, `condition '"a" contains "b"': column 5: contains compares two literals; one side must be a field`)
	f(`a > 1 == false`, `condition 'a > 1 == false': column 3: a > 1 is a condition, not a value`)
	f(`(a == 1) == true`, `condition '(a == 1) == true': column 4: a == 1 is a condition, not a value`)
	f(`a == (b < 1)`, `condition 'a == (b < 1)': column 9: b < 1 is a condition, not a value`)
	f(`a == !b`, `condition 'a == !b': column 6: ! applies to b alone, which is a field, not a condition: put the comparison in parentheses, as in !(b == ...), or test exists(b)`)
	f(`a == !(b == 1)`, `condition 'a == !(b == 1)': column 6: !(b == 1) is a condition, not a value`)
	f(`a == exists(b)`, `condition 'a == exists(b)': column 6: function exists is not supported; the only function is exists(field)`)
	f(`a < true`, `condition 'a < true': column 5: < orders numbers and strings, and true is a bool`)
	f(`nil >= a`, `condition 'nil >= a': column 1: >= orders numbers and strings, and nil is a null`)
	f(`a contains 1`, `condition 'a contains 1': column 12: contains works on strings, and 1 is a number`)
	f(`true startsWith a`, `condition 'true startsWith a': column 1: startsWith works on strings, and true is a bool`)
	f(`a endsWith nil`, `condition 'a endsWith nil': column 12: endsWith works on strings, and nil is a null`)

	// in
	f(`a in b`, `condition 'a in b': column 6: the right side of in must be a list of literals, as in ["a", 1]`)
	f(`a in ["x", b]`, `condition 'a in ["x", b]': column 12: the elements of an in list must be literals, not b`)
	f(`a in [[1]]`, `condition 'a in [[1]]': column 7: the elements of an in list must be literals, not [1]`)
	f(`"x" in ["x"]`, `condition '"x" in ["x"]': column 1: the left side of in must be a field, not "x"`)
	f(`a in 1..3`, `condition 'a in 1..3': column 7: the right side of in must be a list of literals, as in ["a", 1]`)
	f(`a == [1]`, `condition 'a == [1]': column 6: a list is only allowed on the right of in`)

	// matches
	f(`a matches "("`, "condition 'a matches \"(\"': column 11: bad regular expression \"(\": error parsing regexp: missing closing ): `(`")
	f(`a matches b`, `condition 'a matches b': column 11: the pattern of matches must be a string literal, not b`)
	f(`"x" matches "x"`, `condition '"x" matches "x"': column 1: the left side of matches must be a field, not "x"`)

	// exists and other functions
	f(`exists("a")`, `condition 'exists("a")': column 1: exists takes one field, as in exists(event.card)`)
	f(`exists(a, b)`, `condition 'exists(a, b)': column 1: exists takes one field, as in exists(event.card)`)
	f(`exists()`, `condition 'exists()': column 1: exists takes one field, as in exists(event.card)`)
	f(`len(a) > 1`, `condition 'len(a) > 1': column 1: function len is not supported; the only function is exists(field)`)
	f(`all(a, # > 1)`, `condition 'all(a, # > 1)': column 1: function all is not supported; the only function is exists(field)`)
	f(`now() > a`, `condition 'now() > a': column 1: function now is not supported; the only function is exists(field)`)
	f(`lookup(a)`, `condition 'lookup(a)': column 1: function lookup is not supported; the only function is exists(field)`)
	f(`a.startsWith("x")`, `condition 'a.startsWith("x")': column 3: method calls such as a.startsWith are not supported; use the operators contains, startsWith, endsWith, matches`)
	f(`a | lower() == "x"`, `condition 'a | lower() == "x"': column 5: function lower is not supported; the only function is exists(field)`)

	// field paths
	f(`a[0] == 1`, `condition 'a[0] == 1': column 3: indexing with 0 is not supported; fields are reached by name`)
	f(`a[b] == 1`, `condition 'a[b] == 1': column 3: indexing with b is not supported; fields are reached by name`)
	f(`a["b.c"] == 1`, `condition 'a["b.c"] == 1': column 3: field name "b.c" cannot be reached: field paths split names on '.'`)
	f(`a["b c"] == 1`, `condition 'a["b c"] == 1': column 1: field path "a.b c": segment 2 "b c" has the character ' '; segments are made of letters, digits and _ @ $ -`)
	f(`a[""] == 1`, `condition 'a[""] == 1': column 1: field path "a.": segment 2 is empty`)
	f(`é == 1`, `condition 'é == 1': column 1: field path "é": segment 1 "é" has the character 'é'; segments are made of letters, digits and _ @ $ -`)
	f(`a[0].b == 1`, `condition 'a[0].b == 1': column 3: indexing with 0 is not supported; fields are reached by name`)
	f(`é in [1]`, `condition 'é in [1]': column 1: field path "é": segment 1 "é" has the character 'é'; segments are made of letters, digits and _ @ $ -`)
	f(`a.é matches "x"`, `condition 'a.é matches "x"': column 1: field path "a.é": segment 2 "é" has the character 'é'; segments are made of letters, digits and _ @ $ -`)
	f(`exists(é)`, `condition 'exists(é)': column 8: field path "é": segment 1 "é" has the character 'é'; segments are made of letters, digits and _ @ $ -`)
	f(`a?.b == 1`, `condition 'a?.b == 1': column 4: the ?. operator is not supported; a missing field never fails a condition`)
	f(`a.b?.c == 1`, `condition 'a.b?.c == 1': column 6: the ?. operator is not supported; a missing field never fails a condition`)
	f(`a[1:2] == 1`, `condition 'a[1:2] == 1': column 2: slices are not supported`)
	f(tooManyFields(), `condition '`+tooManyFields()+`': column 385: a condition reads at most 32 different fields`)

	// other constructs of expr
	f(`a + 1 > 2`, `condition 'a + 1 > 2': column 3: arithmetic is not supported: a + 1`)
	f(`a > -b`, `condition 'a > -b': column 5: arithmetic is not supported: -b`)
	f(`a > -"x"`, `condition 'a > -"x"': column 5: arithmetic is not supported: -"x"`)
	f(`-a`, `condition '-a': column 1: arithmetic is not supported: -a`)
	f(`!(-a)`, `condition '!(-a)': column 3: arithmetic is not supported: -a`)
	f(`a - 1`, `condition 'a - 1': column 3: arithmetic is not supported: a - 1`)
	f(`a ?? b`, `condition 'a ?? b': column 3: operator ?? is not supported`)
	f(`a == (b ?? 1)`, `condition 'a == (b ?? 1)': column 9: operator ?? is not supported`)
	f(`a == 1 ? true : false`, `condition 'a == 1 ? true : false': column 10: if/else and ?: are not supported`)
	f(`if a == 1 { true } else { false }`, `condition 'if a == 1 { true } else { false }': column 1: if/else and ?: are not supported`)
	f(`let x = 1; a == x`, `condition 'let x = 1; a == x': column 5: let is not supported`)
	f(`a == 1; b == 2`, `condition 'a == 1; b == 2': column 3: a condition is one expression; ';' is not supported`)
	f(`a == {"b": 1}`, `condition 'a == {"b": 1}': column 6: maps are not supported`)
	f(`"x".y == 1`, `condition '"x".y == 1': column 5: "x".y is not supported`)
	f(`a == b"x"`, `condition 'a == b"x"': column 6: byte strings are not supported`)
}

// tooManyFields is a condition over 33 different fields; the last starts at column 385.
func tooManyFields() string {
	var b strings.Builder
	for i := range maxFields + 1 {
		if i > 0 {
			b.WriteString(" || ")
		}
		b.WriteString("f")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString(" == 1")
	}
	return b.String()
}

// EvalValues with the fields looked up by the caller decides as Eval does.
func TestEvalValuesMatchesEval(t *testing.T) {
	conds := []string{
		`event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`,
		`exists(event.card) && !(source startsWith "test")`,
		`event.a == event.b`,
		`true`,
	}
	events := []string{
		`{"source":"app","event":{"status":"declined","amount":5000},"metadata":{"env":"dev"}}`,
		`{"source":"test-1","event":{"card":"x","a":1,"b":1},"metadata":{"env":"staging"}}`,
		`{"source":"app","event":{"a":"1","b":1}}`,
		`{}`,
	}
	for _, src := range conds {
		c, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		set := fieldpath.NewSet(c.Fields()...)
		vals := make([]fieldpath.Value, set.Len())
		for _, ev := range events {
			set.Lookup([]byte(ev), vals)
			if got, want := c.EvalValues(vals), c.Eval([]byte(ev)); got != want {
				t.Errorf("%s on %s: EvalValues %v, Eval %v", src, ev, got, want)
			}
		}
	}
}
