package broker

// SetPollWaitHook makes Receive call f each time it is about to block, so
// tests can act "while a receiver waits" without sleeping. Set it before the
// broker is used concurrently.
func SetPollWaitHook(b *Broker, f func()) { b.onPollWait = f }
