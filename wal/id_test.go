package wal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestID: a log keeps its identity across reopening, and a directory whose id file is lost or
// damaged gets a new one instead of refusing to open.
func TestID(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	id := l.ID()
	if id == 0 {
		t.Fatal("ID is 0")
	}
	l.Close()
	l = open(t, dir, Options{})
	if l.ID() != id {
		t.Fatalf("ID after reopen = %x, want %x", l.ID(), id)
	}
	l.Close()
	if other := open(t, t.TempDir(), Options{}); other.ID() == id {
		t.Fatal("two logs drew the same id")
	}
	for _, damage := range []string{"", "not hex at all\n", "0000000000000000\n"} {
		if err := os.WriteFile(filepath.Join(dir, idName), []byte(damage), 0o644); err != nil {
			t.Fatal(err)
		}
		l = open(t, dir, Options{})
		if l.ID() == 0 || l.ID() == id {
			t.Fatalf("damaged id file %q: ID = %x, want a new non-zero id", damage, l.ID())
		}
		id = l.ID()
		l.Close()
	}
}
