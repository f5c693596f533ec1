package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// runSecured starts a JetStream server with extra security options.
func runSecured(t *testing.T, secure func(*server.Options)) string {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoLog: os.Getenv("NATS_LOGGING") == "", NoSigs: true, MaxPayload: 2 << 20}
	secure(opts)
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("NATS_LOGGING") != "" {
		ns.ConfigureLogger()
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// storeOne connects with cfg, sets up the topology and stores one webhook.
func storeOne(t *testing.T, cfg config.NATS) error {
	t.Helper()
	cfg.ConnectTimeout = 2 * time.Second
	log := zaptest.NewLogger(t)
	nc, err := bus.Connect(cfg, "test", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, config.Default().JetStream, log)
	if err != nil {
		return err
	}
	// A refused connection never connects: 2 s is plenty on loopback.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for !nc.IsConnected() {
		if ctx.Err() != nil {
			return bus.ErrNotConnected
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.EnsureTopology(ctx); err != nil {
		return err
	}
	_, err = b.PublishRaw(ctx, bus.RawMessage{Source: "s", Vendor: "persona", MsgID: "s:1", ReceivedAt: time.Now(), Body: []byte("{}")})
	return err
}

func TestConnectUserPasswordAndToken(t *testing.T) {
	url := runSecured(t, func(o *server.Options) { o.Username, o.Password = "idvbus", "s3cret" })
	if err := storeOne(t, config.NATS{URL: url, User: "idvbus", Password: "s3cret"}); err != nil {
		t.Fatalf("user/password: %v", err)
	}
	if err := storeOne(t, config.NATS{URL: url, User: "idvbus", Password: "wrong"}); err == nil {
		t.Fatal("wrong password stored a message")
	}
	url = runSecured(t, func(o *server.Options) { o.Authorization = "tok-123" })
	if err := storeOne(t, config.NATS{URL: url, Token: "tok-123"}); err != nil {
		t.Fatalf("token: %v", err)
	}
}

func TestConnectNkeySeedFile(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	url := runSecured(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	if err := storeOne(t, config.NATS{URL: url, NkeySeedFile: seedFile}); err != nil {
		t.Fatalf("nkey: %v", err)
	}
}

// TestConnectCredsFile: operator/JWT mode, as on Synadia Cloud or a
// decentralized-auth cluster, with a .creds file holding the user JWT and seed.
func TestConnectCredsFile(t *testing.T) {
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(upub)
	uc.IssuerAccount = apub
	ujwt, err := uc.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	useed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	skp, _ := nkeys.CreateAccount() // JetStream in operator mode needs a system account
	spub, _ := skp.PublicKey()
	sjwt, err := jwt.NewAccountClaims(spub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	url := runSecured(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.SystemAccount = spub
		r := &server.MemAccResolver{}
		if err := r.Store(apub, ajwt); err != nil {
			t.Fatal(err)
		}
		if err := r.Store(spub, sjwt); err != nil {
			t.Fatal(err)
		}
		o.AccountResolver = r
	})
	if err := storeOne(t, config.NATS{URL: url, CredsFile: credsFile}); err != nil {
		t.Fatalf("creds: %v", err)
	}
}

func TestConnectTLSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	newCert(t, dir, "client", ca, caKey)
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, mutual := range []bool{false, true} {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: p("server.pem"), KeyFile: p("server-key.pem"), CaFile: p("ca.pem"), Verify: mutual})
		if err != nil {
			t.Fatal(err)
		}
		url := runSecured(t, func(o *server.Options) { o.TLSConfig, o.TLS, o.TLSVerify, o.TLSTimeout = tc, true, mutual, 2 })
		cfg := config.NATS{URL: url, TLS: config.TLS{CAFile: p("ca.pem")}}
		if mutual {
			if err := storeOne(t, cfg); err == nil {
				t.Fatal("mutual TLS server accepted a client without a certificate")
			}
			cfg.TLS.CertFile, cfg.TLS.KeyFile = p("client.pem"), p("client-key.pem")
		}
		if err := storeOne(t, cfg); err != nil {
			t.Fatalf("tls (mutual=%v): %v", mutual, err)
		}
	}
}

// newCert writes <name>.pem and <name>-key.pem, self-signed when parent is nil.
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}
