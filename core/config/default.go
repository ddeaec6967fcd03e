package config

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"os"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile names the embedded default config in messages.
const DefaultFile = "<embedded>"

// Default returns the configuration ingestd runs without --config (SPEC §3) and the plain token
// it accepts, for the command to print a ready-to-paste curl command. The token is
// $INGESTD_TOKEN, or when that is unset or empty a fresh random one (32 bytes from crypto/rand,
// in hex).
//
// Its sink has type "file", so the binary must import the sink bundle (sinks/all) before
// calling Default; otherwise Default fails with an unknown sink type.
func Default() (cfg *Config, token string, err error) {
	token = os.Getenv("INGESTD_TOKEN")
	if token == "" {
		var b [32]byte
		rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
		token = hex.EncodeToString(b[:])
	}
	lookup := func(name string) (string, bool) { return token, name == "INGESTD_TOKEN" }
	cfg, err = parse(defaultYAML, DefaultFile, lookup)
	if err != nil {
		return nil, "", err
	}
	return cfg, token, nil
}
