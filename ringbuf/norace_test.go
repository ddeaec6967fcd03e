//go:build !race

package ringbuf

// raceEnabled scales the stress tests down: the race detector slows the
// ring's atomics by an order of magnitude.
const raceEnabled = false
