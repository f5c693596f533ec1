package webhookauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"time"
)

// Values of Config.Algorithm and Config.Encoding for type hmac. Matching is
// case-insensitive ("SHA256" works); empty means the first of each list.
const (
	AlgorithmSHA256 = "sha256" // default: what Onfido, Veriff, Sumsub, GitHub use
	AlgorithmSHA512 = "sha512"
	AlgorithmSHA1   = "sha1"   // legacy senders only (e.g. Sumsub's HMAC_SHA1_HEX)
	EncodingHex     = "hex"    // default
	EncodingBase64  = "base64" // standard or URL alphabet, padded or not
)

// hmacAlgorithms maps an algorithm name to its hash, in the order config
// errors list them.
var hmacAlgorithms = []struct {
	name string
	new  func() hash.Hash
}{
	{AlgorithmSHA256, sha256.New},
	{AlgorithmSHA512, sha512.New},
	{AlgorithmSHA1, sha1.New},
}

// hashFor returns the hash named algorithm ("" = sha256), or nil.
func hashFor(algorithm string) func() hash.Hash {
	if algorithm == "" {
		algorithm = AlgorithmSHA256
	}
	for _, a := range hmacAlgorithms {
		if strings.EqualFold(a.name, algorithm) {
			return a.new
		}
	}
	return nil
}

// normEncoding returns the canonical encoding name ("" = hex), or "" if unknown.
func normEncoding(encoding string) string {
	switch strings.ToLower(encoding) {
	case "", EncodingHex:
		return EncodingHex
	case EncodingBase64:
		return EncodingBase64
	}
	return ""
}

// DecodeHMACSignature decodes a generic HMAC signature header value: prefix
// (e.g. "sha256=", matched case-insensitively; "" for none) must lead the
// value and is stripped, the rest is decoded as encoding: "hex" (or "", either
// case of digits) or "base64" (standard or URL alphabet, padded or not). On
// success EncodeHMACSignature of the result with the same prefix and encoding
// decodes back to the same bytes. Errors never quote the value.
func DecodeHMACSignature(value, prefix, encoding string) ([]byte, error) {
	enc := normEncoding(encoding)
	if enc == "" {
		return nil, errEncoding
	}
	if len(value) < len(prefix) || !strings.EqualFold(value[:len(prefix)], prefix) {
		return nil, errWrongPrefix
	}
	value = value[len(prefix):]
	if value == "" {
		return nil, errEmpty
	}
	if enc == EncodingBase64 {
		return decodeBase64(value)
	}
	b, err := hex.DecodeString(value)
	if err != nil {
		return nil, errSigNotHex
	}
	return b, nil
}

// EncodeHMACSignature is the inverse of DecodeHMACSignature: prefix followed
// by sig in lowercase hex, or in padded standard base64 for "base64".
func EncodeHMACSignature(sig []byte, prefix, encoding string) string {
	if normEncoding(encoding) == EncodingBase64 {
		return prefix + base64.StdEncoding.EncodeToString(sig)
	}
	return prefix + hex.EncodeToString(sig)
}

// SignHMAC returns the header value a generic-HMAC sender would send: the
// HMAC of body under secret with algorithm, encoded as EncodeHMACSignature
// does. The error reports an unknown algorithm or encoding.
func SignHMAC(secret, algorithm, encoding, prefix string, body []byte) (string, error) {
	h := hashFor(algorithm)
	if h == nil {
		return "", errAlgorithm
	}
	if normEncoding(encoding) == "" {
		return "", errEncoding
	}
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return EncodeHMACSignature(m.Sum(nil), prefix, encoding), nil
}

var hmacScheme = scheme{
	uses:  fieldSecrets | fieldHeader | fieldAlgorithm | fieldEncoding | fieldPrefix,
	build: newHMAC,
	sign: func(c Config, h http.Header, body []byte, _ time.Time) error {
		v, err := SignHMAC(c.Secrets[0], c.Algorithm, c.Encoding, c.Prefix, body)
		h.Set(c.Header, v)
		return err
	},
}

// hmacVerifier checks one header carrying HMAC(secret, raw body).
type hmacVerifier struct {
	header, prefix, encoding string
	hash                     func() hash.Hash
	size                     int // the hash's output size: any other length is malformed
	keys                     [][]byte
}

func newHMAC(c Config) (Verifier, []error) {
	errs := checkHeaderName(c)
	v := &hmacVerifier{header: c.Header, prefix: c.Prefix, encoding: normEncoding(c.Encoding), hash: hashFor(c.Algorithm)}
	if v.hash == nil {
		errs = append(errs, configErr("algorithm", "%q is not one of sha256, sha512, sha1", c.Algorithm))
	} else {
		v.size = v.hash().Size()
	}
	if v.encoding == "" {
		errs = append(errs, configErr("encoding", "%q is not one of hex, base64", c.Encoding))
	}
	for _, s := range c.Secrets {
		v.keys = append(v.keys, []byte(s))
	}
	return v, errs
}

// Verify accepts the request if the header's signature equals the HMAC of the
// raw body under any secret.
func (v *hmacVerifier) Verify(r *Request) error {
	got, err := v.check(r)
	if err != nil {
		return err
	}
	for _, key := range v.keys {
		m := hmac.New(v.hash, key)
		m.Write(r.Body)
		if hmac.Equal(m.Sum(nil), got) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// CheckHeaders refuses a missing header and one that does not decode to a
// signature of the hash's size.
func (v *hmacVerifier) CheckHeaders(r *Request) error {
	_, err := v.check(r)
	return err
}

// check decodes the signature header.
func (v *hmacVerifier) check(r *Request) ([]byte, error) {
	val := r.Header.Get(v.header)
	if val == "" {
		return nil, missing(v.header)
	}
	got, err := DecodeHMACSignature(val, v.prefix, v.encoding)
	if err != nil {
		return nil, malformed(v.header, err)
	}
	if len(got) != v.size {
		return nil, malformed(v.header, errSigWrongBytes)
	}
	return got, nil
}
