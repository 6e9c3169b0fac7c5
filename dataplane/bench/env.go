package bench

import rmq "github.com/apache/rocketmq-clients/golang/v5"

// setTLS flips the official client's process-wide TLS switch (it defaults
// to TLS, which the node serves on the same port as plaintext).
func setTLS(on bool) { rmq.EnableSsl = on }
