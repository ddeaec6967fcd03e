package snowflake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// jwtLifetime is how long a key-pair JWT is valid; Snowflake accepts at most one hour.
const jwtLifetime = 59 * time.Minute

// signer makes the key-pair JWTs Snowflake accepts: RS256, issuer
// "<ACCOUNT>.<USER>.SHA256:<fingerprint>", subject "<ACCOUNT>.<USER>".
type signer struct {
	key *rsa.PrivateKey
	iss string
	sub string
}

func newSigner(account, user string, key *rsa.PrivateKey) (*signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	sub := jwtAccount(account) + "." + strings.ToUpper(user)
	return &signer{key: key, sub: sub, iss: sub + ".SHA256:" + base64.StdEncoding.EncodeToString(sum[:])}, nil
}

// jwtAccount is the account as the claims name it: upper case, and for an account locator
// without its region (what follows the first '.').
func jwtAccount(account string) string {
	if i := strings.IndexByte(account, '.'); i >= 0 {
		account = account[:i]
	}
	return strings.ToUpper(account)
}

// sign returns a JWT issued at now and its expiry.
func (s *signer) sign(now time.Time) (string, time.Time, error) {
	exp := now.Add(jwtLifetime)
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{s.iss, s.sub, now.Unix(), exp.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	enc := base64.RawURLEncoding
	msg := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", time.Time{}, err
	}
	return msg + "." + enc.EncodeToString(sig), exp, nil
}

// loadKey reads an unencrypted RSA private key. Its errors never quote the file's content.
func loadKey(file string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", file)
	}
	var key any
	switch {
	case block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "":
		return nil, fmt.Errorf("%s is encrypted; the sink takes only unencrypted keys: "+
			"write one with openssl pkcs8 -topk8 -nocrypt and protect the file instead", file)
	case block.Type == "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case block.Type == "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds a %q PEM block, not a PKCS#8 PRIVATE KEY", file, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key; Snowflake key-pair authentication needs RSA", file, key)
	}
	if rk.N.BitLen() < 2048 {
		return nil, errors.New(file + " holds an RSA key shorter than 2048 bits")
	}
	return rk, nil
}
