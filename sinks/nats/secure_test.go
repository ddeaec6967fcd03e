package nats

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

// connInfo returns what the server knows of the sink's connection (named "ingestd/bus").
func connInfo(t *testing.T, srv *server.Server) *server.ConnInfo {
	t.Helper()
	cz, err := srv.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cz.Conns {
		if c.Name == "ingestd/bus" {
			return c
		}
	}
	t.Fatalf("the server has no connection of the sink among %d", len(cz.Conns))
	return nil
}

// TestTLS: against an embedded nats-server (standing for a NATS deployment) that requires TLS
// and a client certificate from its CA, the sink trusts that CA by tls.ca_file, presents
// tls.cert_file, and delivers over TLS. Without the client certificate, or trusting only the
// system's roots, the server is never reached and batches fail retryably; an unreadable CA file
// fails Connect.
func TestTLS(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) {
		o.TLSConfig = ca.ServerConfig(t, tls.RequireAndVerifyClientCert)
		o.TLSConfig.MinVersion = tls.VersionTLS12
		o.TLSVerify = true
		o.TLSTimeout = 2
	})
	url := "tls://" + srv.Addr().String()

	// The test's own connection, to make the stream and read it back.
	js := jetStream(t, url, nats.RootCAs(ca.CertFile), nats.ClientCert(client.CertFile, client.KeyFile))
	st := addStream(t, js, "EVENTS", nil, "ingestd.>")

	wantDelivered(t, newSink(t, url, func(o *Options) {
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	}), st)
	ci := connInfo(t, srv)
	if ci.TLSVersion == "" || len(ci.TLSPeerCerts) != 1 || ci.TLSPeerCerts[0].Subject != "CN="+testpki.ClientName {
		t.Fatalf("the sink's connection: TLS version %q, peer certificates %+v; want TLS with the client certificate", ci.TLSVersion, ci.TLSPeerCerts)
	}

	for name, tc := range map[string]*TLS{
		"no client certificate": {CAFile: ca.CertFile},
		"system roots only":     {CertFile: client.CertFile, KeyFile: client.KeyFile},
	} {
		t.Run(name, func(t *testing.T) {
			wantRefused(t, url, func(o *Options) { o.TLS = tc })
		})
	}

	garbage := writeTemp(t, "ca.pem", []byte("not a certificate"))
	connectErr(t, unconnected(t, url, func(o *Options) { o.TLS = &TLS{CAFile: garbage} }), "a CA file without a certificate")
}

// operatorServer runs an embedded nats-server in operator (decentralized JWT) mode, standing
// for a NATS deployment secured with nsc-issued credentials: it trusts one operator, whose
// account has JetStream enabled. It returns the server and the account's signing key pair,
// from which users are issued.
func operatorServer(t *testing.T) (*server.Server, nkeys.KeyPair) {
	t.Helper()
	newAccount := func() (nkeys.KeyPair, string) {
		kp, err := nkeys.CreateAccount()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		return kp, pub
	}
	opKP, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opPub, _ := opKP.PublicKey()
	// JetStream needs a system account for its internal subscriptions.
	_, sysPub := newAccount()
	accKP, accPub := newAccount()

	resolver := &server.MemAccResolver{}
	for pub, name := range map[string]string{sysPub: "SYS", accPub: "INGEST"} {
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if pub == accPub {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: jwt.NoLimit, DiskStorage: jwt.NoLimit, Streams: jwt.NoLimit, Consumer: jwt.NoLimit}
		}
		accJWT, err := ac.Encode(opKP)
		if err != nil {
			t.Fatal(err)
		}
		if err := resolver.Store(pub, accJWT); err != nil {
			t.Fatal(err)
		}
	}
	oc := jwt.NewOperatorClaims(opPub)
	oc.Name, oc.SystemAccount = "test-operator", sysPub
	opJWT, err := oc.Encode(opKP)
	if err != nil {
		t.Fatal(err)
	}
	op, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{op}
		o.AccountResolver = resolver
		o.SystemAccount = sysPub
	})
	return srv, accKP
}

// writeCreds issues a user of the account signed by accKP and writes its .creds file (the
// user JWT and its nkey seed, as nsc writes them). It returns the file and the user's public key.
func writeCreds(t *testing.T, accKP nkeys.KeyPair, name string) (string, string) {
	t.Helper()
	userKP, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := userKP.PublicKey()
	uc := jwt.NewUserClaims(userPub)
	uc.Name = name
	userJWT, err := uc.Encode(accKP)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := userKP.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, name+".creds", creds), userPub
}

// TestCredsFile: with credentials.creds_file, the sink logs in to a server in operator mode as
// the file's user and delivers to JetStream in that user's account. A user issued by an account
// the operator never signed is refused: batches fail retryably and nothing is stored. A creds
// file without a JWT fails Connect, as the docs say of unreadable credential files.
func TestCredsFile(t *testing.T) {
	srv, accKP := operatorServer(t)
	admin, _ := writeCreds(t, accKP, "admin")
	st := addStream(t, jetStream(t, srv.ClientURL(), nats.UserCredentials(admin)), "EVENTS", nil, "ingestd.>")

	creds, user := writeCreds(t, accKP, "ingestd")
	wantDelivered(t, newSink(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{CredsFile: creds} }), st)
	if ci := connInfo(t, srv); ci.AuthorizedUser != user {
		t.Fatalf("the sink logged in as %q, want the creds file's user %q", ci.AuthorizedUser, user)
	}

	strangerKP, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := writeCreds(t, strangerKP, "stranger")
	wantRefused(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{CredsFile: stranger} })
	if got := readStream(t, st); len(got) != 2 {
		t.Fatalf("stream holds %d messages after the refused user's batch, want 2", len(got))
	}

	// The client reads a creds file only when it connects; the sink reads it at Connect, so a
	// broken one fails the start or the reload instead of a connection retried forever.
	userJWT, err := jwt.NewUserClaims(user).Encode(accKP)
	if err != nil {
		t.Fatal(err)
	}
	seedKP, _ := nkeys.CreateUser()
	seed, _ := seedKP.Seed()
	for name, content := range map[string]string{
		"removed after validation": "",
		"no JWT":                   "not a creds file\n",
		"JWT, no seed":             userJWT + "\n",
		"seed, no JWT":             string(seed) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			file := writeTemp(t, strings.ReplaceAll(name, " ", "_")+".creds", []byte(content))
			s := unconnected(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{CredsFile: file} })
			if content == "" {
				os.Remove(file)
			}
			err := connectErr(t, s, "the creds file")
			if !strings.Contains(err.Error(), "credentials.creds_file") || strings.Contains(err.Error(), string(seed)) {
				t.Fatalf("Connect error does not name the option, or repeats the seed: %v", err)
			}
		})
	}
}

// TestNkeyFile: with credentials.nkey_file, the sink answers the server's nonce with the
// seed's signature; an embedded nats-server that knows the user's public nkey stands for a NATS
// deployment with nkey users.
func TestNkeyFile(t *testing.T) {
	userKP, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := userKP.PublicKey()
	seed, _ := userKP.Seed()
	seedFile := writeTemp(t, "ingestd.nk", seed)
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: userPub}} })
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	st := addStream(t, jetStream(t, srv.ClientURL(), opt), "EVENTS", nil, "ingestd.>")
	wantDelivered(t, newSink(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{NkeyFile: seedFile} }), st)
	if ci := connInfo(t, srv); ci.AuthorizedUser != userPub {
		t.Fatalf("the sink logged in as %q, want %q", ci.AuthorizedUser, userPub)
	}

	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := writeTemp(t, "other.nk", otherSeed)
	wantRefused(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{NkeyFile: otherFile} })
}
