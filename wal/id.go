package wal

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// idName is the file holding the log's identity: 16 hex digits and a newline.
const idName = "log-id"

// ID identifies the log directory for good: it is drawn at random when the directory is first
// opened and kept in a file beside the segments. Positions are unique within one log, so
// ID and Position together name a record uniquely across every ingestd instance, even when
// several write to the same destination.
func (l *Log) ID() uint64 { return l.id }

// loadID reads the directory's identity, creating it the first time. A lost or unreadable
// file gets a new identity: records keep their positions, only ids derived from them change.
func loadID(dir string) (uint64, error) {
	path := filepath.Join(dir, idName)
	data, err := os.ReadFile(path)
	if err == nil {
		if id, ok := parseID(data); ok {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	var b [8]byte
	for binary.BigEndian.Uint64(b[:]) == 0 {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
	}
	id := binary.BigEndian.Uint64(b[:])
	if err := writeSynced(dir, idName, fmt.Appendf(nil, "%016x\n", id)); err != nil {
		return 0, fmt.Errorf("wal: write %s: %w", path, err)
	}
	return id, nil
}

func parseID(data []byte) (uint64, bool) {
	s := strings.TrimSpace(string(data))
	if len(s) != 16 {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	id := binary.BigEndian.Uint64(b[:])
	return id, id != 0
}

// writeSynced replaces dir/name with data through a synced temporary file and a rename, so a
// crash leaves either the old file or the new one.
func writeSynced(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}
