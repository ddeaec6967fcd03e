// Package sample decides which events a route keeps when it samples, and with what weight.
//
// Three modes, one per route's `sample:` setting:
//
//   - rate without a key: each event is kept with probability rate, drawn at random.
//   - rate with a key: the decision is a function of the key's value alone — kept iff
//     xxhash(value) < rate·2⁶⁴ — so every event of one transaction, say, shares one fate, on
//     every node and after every restart. No seed and no per-process state enter it.
//   - dynamic: a target of kept events per second for each key value. Rare values are kept
//     whole; a frequent one is kept with probability target / its observed rate, drawn at
//     random (not by hash), so a hot value still passes about target events per second.
//
// Every decision returns the sample rate, the inverse of the keep probability rounded to an
// integer, which kept events carry as "sample_rate" so that downstream counts can be weighted
// back up.
//
// # Dynamic sampling and its memory bound
//
// Time is cut into windows of Dynamic.Window, and a key value may have budget = target·window
// events in one and be kept whole. Its count per window is estimated as the larger of its
// count in the previous window and its count so far in the current one; above the budget, an
// event is kept with probability budget / count. The count so far makes a key that turns hot
// mid-window sampled down before the window ends: a key hot from nothing keeps about
// budget·(1+ln(count/budget)) events in its first window, then budget per window.
//
// Counts live in tables allocated by New and never grown: the keys are split by the top bits
// of their hash over up to 16 stripes, each behind its own mutex so that shard workers seldom
// meet, and each holding a fixed share of Dynamic.MaxKeys keys per window in an
// open-addressing table of 16-byte slots kept at most 3/4 full, plus one for the previous
// window. The memory is thus fixed at between about 43 and 86 bytes per key of MaxKeys
// (512 KiB for the default 10000). A key that finds its stripe's share taken in the
// current window is counted in the stripe's overflow bucket, which is sampled as if it were one
// key: the overflow keys of a stripe share one key's target. The tables are cleared as
// windows pass, so the keys of the current and the previous window are what is remembered.
// Events without the key field count as one key value, the same as an empty one.
package sample

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Config is a route's sampling: Rate, or Dynamic.
type Config struct {
	Rate    float64 // 0 < Rate <= 1: the fraction kept, at random or by key
	Dynamic *Dynamic
}

// Dynamic aims at a number of kept events per second for each key value.
type Dynamic struct {
	TargetPerKey float64       // kept events per second per key value
	MaxKeys      int           // key values counted per window; 0 means DefaultMaxKeys
	Window       time.Duration // how often rates are measured; 0 means DefaultWindow
}

const (
	DefaultMaxKeys = 10000
	DefaultWindow  = time.Second

	// MaxMaxKeys bounds Dynamic.MaxKeys, and so a dynamic sampler's memory to 64 MiB.
	MaxMaxKeys = 1 << 20
	// MinWindow keeps a window long enough to measure a rate in, and table clearing rare.
	MinWindow = time.Millisecond
)

// Sampler makes sampling decisions. It is safe for concurrent use and allocates nothing per
// decision.
type Sampler struct {
	all       bool   // Rate is 1
	threshold uint64 // keep iff a hash or a random draw is below it
	rate      int    // inverse(Rate)
	dyn       *dynamic
}

// New checks c and returns its Sampler. The error messages name the YAML keys of a route's
// `sample:` block.
func New(c Config) (*Sampler, error) {
	if c.Dynamic != nil {
		if c.Rate != 0 {
			return nil, errors.New("sample: rate and dynamic are exclusive; set one of them")
		}
		d, err := newDynamic(*c.Dynamic)
		if err != nil {
			return nil, err
		}
		return &Sampler{dyn: d}, nil
	}
	if !(c.Rate > 0 && c.Rate <= 1) {
		return nil, fmt.Errorf("sample: rate must be above 0 and at most 1, not %v", c.Rate)
	}
	s := &Sampler{all: c.Rate == 1, rate: inverse(c.Rate)}
	if !s.all {
		s.threshold = uint64(math.Ldexp(c.Rate, 64))
	}
	return s, nil
}

// emptyHash is the hash of events without the key, and of the empty key.
var emptyHash = xxhash.Sum64(nil)

// Keep decides whether an event is kept. key is the value of the route's key field, when the
// event has it (hasKey); now is the time in Unix nanoseconds, which only dynamic sampling reads.
// sampleRate is the inverse of the probability this event was kept with, whatever the
// decision.
func (s *Sampler) Keep(key []byte, hasKey bool, now int64) (keep bool, sampleRate int) {
	switch {
	case s.dyn != nil:
		h := emptyHash
		if hasKey {
			h = xxhash.Sum64(key)
		}
		return s.dyn.keep(h, now)
	case s.all:
		return true, 1
	case hasKey:
		return xxhash.Sum64(key) < s.threshold, s.rate
	}
	return rand.Uint64() < s.threshold, s.rate
}

type dynamic struct {
	budget  float64 // events per window a key may have and still be kept whole
	window  int64   // nanoseconds
	shift   uint    // a hash's top bits, h>>shift, choose its stripe
	stripes []stripe
}

// stripe counts the keys whose hashes share its top bits. Its fields are guarded by mu.
type stripe struct {
	mu        sync.Mutex
	win       int64    // the current window: time / window length
	limit     int      // keys the current window may hold
	keys      int      // keys held in cur
	cur, prev []slot   // one window each, same power-of-two length
	overCur   uint32   // events of keys beyond limit, this window
	overPrev  uint32   // and the previous one
	_         [40]byte // a stripe per 128 bytes, so stripes' mutexes share no cache line
}

// slot is one key's counts. hash 0 marks an empty slot; a key hashing to 0 is stored as 1.
type slot struct {
	hash uint64
	n    uint32 // events in this slot's window, saturating
	prev uint32 // in the window before, read from the previous table when the key arrived
}

const maxStripes = 16

func newDynamic(c Dynamic) (*dynamic, error) {
	switch {
	case !(c.TargetPerKey > 0) || math.IsInf(c.TargetPerKey, 1):
		return nil, fmt.Errorf("sample: dynamic.target_per_key must be a positive number, not %v", c.TargetPerKey)
	case c.MaxKeys < 0 || c.MaxKeys > MaxMaxKeys:
		return nil, fmt.Errorf("sample: dynamic.max_keys must be between 1 and %d, not %d", MaxMaxKeys, c.MaxKeys)
	case c.Window < 0 || (c.Window > 0 && c.Window < MinWindow):
		return nil, fmt.Errorf("sample: dynamic.window must be at least %v, not %v", MinWindow, c.Window)
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	// Stripes of at least 64 keys each: fewer keys gain nothing from splitting.
	n := 1
	for n < maxStripes && c.MaxKeys/(2*n) >= 64 {
		n *= 2
	}
	d := &dynamic{
		budget:  c.TargetPerKey * c.Window.Seconds(),
		window:  int64(c.Window),
		shift:   uint(64 - bits.TrailingZeros(uint(n))),
		stripes: make([]stripe, n),
	}
	for i := range d.stripes {
		st := &d.stripes[i]
		st.limit = c.MaxKeys / n
		if i < c.MaxKeys%n {
			st.limit++
		}
		size := 8
		for size*3 < st.limit*4 {
			size *= 2
		}
		st.cur, st.prev = make([]slot, size), make([]slot, size)
	}
	return d, nil
}

func (d *dynamic) keep(h uint64, now int64) (bool, int) {
	if h == 0 {
		h = 1
	}
	st := &d.stripes[h>>d.shift]
	w := now / d.window
	st.mu.Lock()
	if w > st.win {
		st.rotate(w)
	}
	n := st.count(h)
	st.mu.Unlock()
	if float64(n) <= d.budget {
		return true, 1
	}
	p := d.budget / float64(n)
	return rand.Float64() < p, inverse(p)
}

// maxSampleRate caps a sample rate where a probability is too small for its inverse to be an
// int: far beyond any rate worth weighting by.
const maxSampleRate = 1 << 53

// inverse returns round(1/p), at most maxSampleRate.
func inverse(p float64) int {
	r := math.Round(1 / p)
	if r > maxSampleRate {
		return maxSampleRate
	}
	return int(r)
}

// rotate moves the stripe on to window w. The current window becomes the previous one when w
// follows it; after a longer pause there is no previous window.
func (st *stripe) rotate(w int64) {
	if w == st.win+1 {
		st.cur, st.prev = st.prev, st.cur
		st.overPrev = st.overCur
	} else {
		clear(st.prev)
		st.overPrev = 0
	}
	clear(st.cur)
	st.keys, st.overCur, st.win = 0, 0, w
}

// count counts one event of the key hashed h and returns the key's estimated events per
// window: the larger of the previous window's count and the current one's so far.
func (st *stripe) count(h uint64) uint32 {
	mask := len(st.cur) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		sl := &st.cur[i]
		switch sl.hash {
		case h:
			if sl.n < math.MaxUint32 {
				sl.n++
			}
			return max(sl.n, sl.prev)
		case 0:
			if st.keys == st.limit {
				if st.overCur < math.MaxUint32 {
					st.overCur++
				}
				return max(st.overCur, st.overPrev)
			}
			st.keys++
			sl.hash, sl.n, sl.prev = h, 1, st.previous(h)
			return max(1, sl.prev)
		}
	}
}

// previous returns the previous window's count of the key hashed h, 0 when it was not there.
func (st *stripe) previous(h uint64) uint32 {
	mask := len(st.prev) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch st.prev[i].hash {
		case h:
			return st.prev[i].n
		case 0:
			return 0
		}
	}
}
