package acl

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// Algorithm is the only signature scheme of RocketMQ 5 clients (spec §3).
const Algorithm = "MQv2-HMAC-SHA1"

// Credential is a parsed authorization header.
type Credential struct {
	AccessKey string
	Signature []byte // decoded from hex
}

// Sign is the signature a client sends for dateTime (the x-mq-date-time
// header): HMAC-SHA1 keyed with the secret, upper-case hex like the Java and
// Node clients (the Go client sends lower case; both verify).
func Sign(secretKey, dateTime string) string {
	return strings.ToUpper(hex.EncodeToString(mac(secretKey, dateTime)))
}

func mac(secretKey, dateTime string) []byte {
	m := hmac.New(sha1.New, []byte(secretKey))
	m.Write([]byte(dateTime))
	return m.Sum(nil)
}

// Authorization is the header value a Java or Node client sends.
func Authorization(accessKey, secretKey, dateTime string) string {
	return Algorithm + " Credential=" + accessKey + ", SignedHeaders=x-mq-date-time, Signature=" + Sign(secretKey, dateTime)
}

// ParseAuthorization parses both header forms clients send (spec §3):
//
//	MQv2-HMAC-SHA1 Credential=<AK>//Rocketmq, SignedHeaders=x-mq-date-time, Signature=<lower hex>  (Go)
//	MQv2-HMAC-SHA1 Credential=<AK>, SignedHeaders=x-mq-date-time, Signature=<UPPER hex>            (Java, Node)
//
// Errors wrap ErrUnauthenticated.
func ParseAuthorization(header string) (Credential, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || alg != Algorithm {
		return Credential{}, fmt.Errorf("%w: authorization header: want algorithm %s", ErrUnauthenticated, Algorithm)
	}
	var c Credential
	var sig string
	for item := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Credential":
			c.AccessKey, _, _ = strings.Cut(strings.TrimSpace(v), "/")
		case "Signature":
			sig = strings.TrimSpace(v)
		}
	}
	if c.AccessKey == "" {
		return Credential{}, fmt.Errorf("%w: authorization header has no access key (Credential)", ErrUnauthenticated)
	}
	if sig == "" {
		return Credential{}, fmt.Errorf("%w: authorization header has no Signature", ErrUnauthenticated)
	}
	b, err := hex.DecodeString(strings.ToLower(sig))
	if err != nil {
		return Credential{}, fmt.Errorf("%w: signature is not hex", ErrUnauthenticated)
	}
	c.Signature = b
	return c, nil
}

// verifySignature compares c's signature with the one secretKey gives
// dateTime, in constant time.
func verifySignature(c Credential, secretKey, dateTime string) bool {
	return hmac.Equal(c.Signature, mac(secretKey, dateTime))
}
