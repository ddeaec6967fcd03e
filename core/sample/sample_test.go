package sample

import (
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func mustNew(t testing.TB, c Config) *Sampler {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return s
}

// keys returns n distinct transaction ids, txn_0 to txn_<n-1>.
func keys(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = strconv.AppendInt([]byte("txn_"), int64(i), 10)
	}
	return out
}

const sec = int64(time.Second)

func TestNewErrors(t *testing.T) {
	f := func(c Config, want string) {
		t.Helper()
		s, err := New(c)
		if err == nil || err.Error() != want || s != nil {
			t.Fatalf("New(%+v) = %v, %v, want error %s", c, s, err, want)
		}
	}
	dyn := func(target float64, maxKeys int, window time.Duration) *Dynamic {
		return &Dynamic{TargetPerKey: target, MaxKeys: maxKeys, Window: window}
	}
	f(Config{}, `sample: rate must be above 0 and at most 1, not 0`)
	f(Config{Rate: -0.1}, `sample: rate must be above 0 and at most 1, not -0.1`)
	f(Config{Rate: 1.5}, `sample: rate must be above 0 and at most 1, not 1.5`)
	f(Config{Rate: math.NaN()}, `sample: rate must be above 0 and at most 1, not NaN`)
	f(Config{Rate: 0.5, Dynamic: dyn(1, 0, 0)}, `sample: rate and dynamic are exclusive; set one of them`)
	f(Config{Dynamic: dyn(0, 0, 0)}, `sample: dynamic.target_per_key must be a positive number, not 0`)
	f(Config{Dynamic: dyn(-1, 0, 0)}, `sample: dynamic.target_per_key must be a positive number, not -1`)
	f(Config{Dynamic: dyn(math.NaN(), 0, 0)}, `sample: dynamic.target_per_key must be a positive number, not NaN`)
	f(Config{Dynamic: dyn(math.Inf(1), 0, 0)}, `sample: dynamic.target_per_key must be a positive number, not +Inf`)
	f(Config{Dynamic: dyn(1, -1, 0)}, `sample: dynamic.max_keys must be between 1 and 1048576, not -1`)
	f(Config{Dynamic: dyn(1, MaxMaxKeys+1, 0)}, `sample: dynamic.max_keys must be between 1 and 1048576, not 1048577`)
	f(Config{Dynamic: dyn(1, 0, -time.Second)}, `sample: dynamic.window must be at least 1ms, not -1s`)
	f(Config{Dynamic: dyn(1, 0, time.Microsecond)}, `sample: dynamic.window must be at least 1ms, not 1µs`)
}

func TestRate(t *testing.T) {
	f := func(rate float64, wantRate int) {
		t.Helper()
		s := mustNew(t, Config{Rate: rate})
		const n = 100000
		kept := 0
		for range n {
			keep, sr := s.Keep(nil, false, 0)
			if sr != wantRate {
				t.Fatalf("rate %v: sample rate %d, want %d", rate, sr, wantRate)
			}
			if keep {
				kept++
			}
		}
		if got := float64(kept) / n; math.Abs(got-rate) > 0.01 {
			t.Fatalf("rate %v: kept %v of random events", rate, got)
		}
	}
	f(1, 1)
	f(0.9, 1)
	f(0.5, 2)
	f(0.25, 4)
	f(0.1, 10)
	f(0.01, 100)
	f(0.003, 333)
	f(1e-300, maxSampleRate)
}

func TestRateByKey(t *testing.T) {
	ks := keys(100000)
	f := func(rate float64) {
		t.Helper()
		a, b := mustNew(t, Config{Rate: rate}), mustNew(t, Config{Rate: rate})
		kept := 0
		for _, k := range ks {
			keep, sr := a.Keep(k, true, 0)
			if keep2, _ := b.Keep(k, true, 0); keep2 != keep {
				t.Fatalf("rate %v: key %s kept %v by one sampler, %v by another", rate, k, keep, keep2)
			}
			if again, _ := a.Keep(k, true, 7*sec); again != keep {
				t.Fatalf("rate %v: key %s kept %v, then %v", rate, k, keep, again)
			}
			if sr != inverse(rate) {
				t.Fatalf("rate %v: sample rate %d", rate, sr)
			}
			if keep {
				kept++
			}
		}
		// Within 1% of the rate, relative: the hash spreads keys evenly.
		if got := float64(kept) / float64(len(ks)); math.Abs(got-rate) > 0.01*rate {
			t.Fatalf("rate %v: kept %v of distinct keys", rate, got)
		}
	}
	f(0.1)
	f(0.25)
	f(0.5)
	f(0.9)
	f(1)

	// The decision is xxhash's, nothing else: pinned, as other nodes and later versions see it.
	s := mustNew(t, Config{Rate: 0.5})
	var got []byte
	for _, k := range ks[:16] {
		if keep, _ := s.Keep(k, true, 0); keep {
			got = append(got, '1')
		} else {
			got = append(got, '0')
		}
	}
	if want := pinnedKeyed; string(got) != want {
		t.Fatalf("rate 0.5 kept %s of txn_0..txn_15, want %s", got, want)
	}
}

// pinnedKeyed says which of txn_0..txn_15 rate 0.5 keeps: xxhash64 below 2^63.
const pinnedKeyed = "1111010110000001"

// dynamicRun feeds a hot key at hotPerSec events a second and a rare one at 1 a second for secs
// seconds, and returns per second what each kept, and the hot key's kept events weighted by
// their sample rates.
func dynamicRun(t *testing.T, s *Sampler, hotPerSec, secs int) (hot, rare []int, weighted int) {
	t.Helper()
	hot, rare = make([]int, secs), make([]int, secs)
	step := sec / int64(hotPerSec)
	for sc := range secs {
		for i := range hotPerSec {
			now := int64(sc)*sec + int64(i)*step
			if keep, sr := s.Keep([]byte("hot"), true, now); keep {
				hot[sc]++
				weighted += sr
			}
			if i == hotPerSec/2 {
				keep, sr := s.Keep([]byte("rare"), true, now)
				if !keep || sr != 1 {
					t.Fatalf("second %d: the rare key was kept %v with sample rate %d", sc, keep, sr)
				}
				rare[sc]++
			}
		}
	}
	return hot, rare, weighted
}

func TestDynamic(t *testing.T) {
	s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 100}})
	const secs = 10
	hot, _, weighted := dynamicRun(t, s, 10000, secs)
	t.Logf("hot kept per second %v, weighted %d", hot, weighted)
	// The first second learns the rate: well below 10000, above the target.
	if hot[0] < 100 || hot[0] > 1000 {
		t.Fatalf("first second kept %d hot events", hot[0])
	}
	total := 0
	for _, n := range hot[1:] {
		total += n
	}
	if avg := float64(total) / (secs - 1); math.Abs(avg-100) > 20 {
		t.Fatalf("kept %v hot events a second, want 100±20 (per second: %v)", avg, hot)
	}
	// Weighting by sample_rate gives the events sent back.
	if math.Abs(float64(weighted)-10000*secs) > 0.15*10000*secs {
		t.Fatalf("weighted hot count %d, sent %d", weighted, 10000*secs)
	}
}

// The estimate is deterministic, so the sample rate of each event can be checked exactly.
func TestDynamicWindows(t *testing.T) {
	s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 5, Window: 2 * time.Second}})
	// whole: the event is within the budget, so kept for sure
	f := func(key string, now int64, wantRate int, whole bool) {
		t.Helper()
		keep, sr := s.Keep([]byte(key), true, now)
		if sr != wantRate || whole && !keep {
			t.Fatalf("%s at %v: kept %v with sample rate %d, want rate %d", key, time.Duration(now), keep, sr, wantRate)
		}
	}
	// window 5 (10s to 12s): a budget of 10 events kept whole, then the count so far / 10
	for i := range 10 {
		f("k", 10*sec+int64(i), 1, true)
	}
	for range 4 {
		f("k", 11*sec, 1, false) // 11 to 14: 1.1 to 1.4
	}
	for range 6 {
		f("k", 11*sec, 2, false) // 15 to 20
	}
	f("k", 9*sec, 2, false) // late, counted in the current window: 21
	// window 6: the previous window's 21 until this one's count passes it
	f("k", 12*sec, 2, false)
	f("other", 12*sec, 1, true)
	// window 8, after a window without events: nothing is remembered
	f("k", 16*sec, 1, true)
}

func TestDynamicNoKey(t *testing.T) {
	s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 3}})
	for i := range 6 {
		_, sr := s.Keep([]byte("ignored"), false, int64(i))
		if want := max(1, int(math.Round(float64(i+1)/3))); sr != want {
			t.Fatalf("event %d without the key: sample rate %d, want %d", i, sr, want)
		}
	}
	// The empty key is the same key value.
	if _, sr := s.Keep(nil, true, 6); sr != 2 {
		t.Fatalf("empty key: sample rate %d, want 2", sr)
	}
}

func TestDynamicKeyTable(t *testing.T) {
	f := func(maxKeys, wantStripes, wantSlots int) {
		t.Helper()
		s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 1, MaxKeys: maxKeys}})
		d := s.dyn
		if len(d.stripes) != wantStripes || len(d.stripes[0].cur) != wantSlots {
			t.Fatalf("max_keys %d: %d stripes of %d slots, want %d of %d",
				maxKeys, len(d.stripes), len(d.stripes[0].cur), wantStripes, wantSlots)
		}
		type pair struct{ a, b *slot }
		tables := make([]pair, len(d.stripes))
		for i := range d.stripes {
			tables[i] = pair{&d.stripes[i].cur[0], &d.stripes[i].prev[0]}
		}
		ks := keys(5*maxKeys + 1000)
		overflow := len(ks) - maxKeys
		for w := range int64(3) {
			kept, lastRate := 0, 0
			for _, k := range ks {
				keep, sr := s.Keep(k, true, w*sec)
				if keep {
					kept++
				}
				lastRate = sr
			}
			held, over := 0, 0
			for i := range d.stripes {
				st := &d.stripes[i]
				held += st.keys
				over += int(st.overCur)
				if st.keys != st.limit {
					t.Fatalf("max_keys %d: a stripe holds %d keys of %d", maxKeys, st.keys, st.limit)
				}
			}
			if held != maxKeys || over != overflow {
				t.Fatalf("max_keys %d: %d keys held, %d events in overflow", maxKeys, held, over)
			}
			// Keys held are kept whole; overflow keys share a budget of 1 per stripe and
			// window, with about ln(overflow) more in the first window while the bucket's count
			// rises.
			if kept < maxKeys || kept > maxKeys+overflow/10 {
				t.Fatalf("max_keys %d, window %d: kept %d", maxKeys, w, kept)
			}
			if lastRate < 2 {
				t.Fatalf("max_keys %d: the last overflow key has sample rate %d", maxKeys, lastRate)
			}
		}
		for i := range d.stripes {
			st := &d.stripes[i]
			now := pair{&st.cur[0], &st.prev[0]}
			if now != tables[i] && now != (pair{tables[i].b, tables[i].a}) || len(st.cur) != wantSlots || len(st.prev) != wantSlots {
				t.Fatalf("max_keys %d: stripe %d's tables were replaced", maxKeys, i)
			}
		}
	}
	f(1, 1, 8)
	f(100, 1, 256)
	f(128, 2, 128)
	f(1001, 8, 256) // a stripe of 126 keys, seven of 125
	f(DefaultMaxKeys, 16, 1024)
}

// Counts saturate instead of wrapping round to a rare key's.
func TestDynamicSaturates(t *testing.T) {
	s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 1, MaxKeys: 1}})
	st := &s.dyn.stripes[0]
	s.Keep([]byte("a"), true, 0)
	for i := range st.cur {
		if st.cur[i].hash != 0 {
			st.cur[i].n = math.MaxUint32
		}
	}
	if _, sr := s.Keep([]byte("a"), true, 0); sr != math.MaxUint32 {
		t.Fatalf("sample rate %d at a saturated count", sr)
	}
	st.overCur = math.MaxUint32
	if _, sr := s.Keep([]byte("b"), true, 0); sr != math.MaxUint32 {
		t.Fatalf("sample rate %d at a saturated overflow", sr)
	}
}

// A key hashing to 0, the empty-slot mark, is stored as 1.
func TestDynamicZeroHash(t *testing.T) {
	s := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 1}})
	s.dyn.keep(0, 0)
	if _, sr := s.dyn.keep(0, 0); sr != 2 {
		t.Fatalf("second event of hash 0: sample rate %d, want 2", sr)
	}
	if _, sr := s.dyn.keep(1, 0); sr != 3 {
		t.Fatalf("hash 1 after two of hash 0: sample rate %d, want 3", sr)
	}
}

func TestStripeSize(t *testing.T) {
	if n := unsafe.Sizeof(stripe{}); n != 128 {
		t.Fatalf("a stripe is %d bytes, want 128 so that two share no cache line", n)
	}
}

// Shard workers share one Sampler; go test -race checks the sharing.
func TestConcurrentKeep(t *testing.T) {
	ks := keys(500)
	keyed := mustNew(t, Config{Rate: 0.5})
	want := make([]bool, len(ks))
	for i, k := range ks {
		want[i], _ = keyed.Keep(k, true, 0)
	}
	dynamic := mustNew(t, Config{Dynamic: &Dynamic{TargetPerKey: 10, MaxKeys: 200}})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				j := (i*7 + g) % len(ks)
				if keep, _ := keyed.Keep(ks[j], true, 0); keep != want[j] {
					t.Errorf("key %s: kept %v, and %v before", ks[j], keep, want[j])
					return
				}
				if _, sr := dynamic.Keep(ks[j], i%3 != 0, int64(i)*sec/1000); sr < 1 {
					t.Errorf("sample rate %d", sr)
					return
				}
			}
		})
	}
	wg.Wait()
}
