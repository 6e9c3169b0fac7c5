package broker

import "context"

// Caller identifies the client a broker call is made for: the proxy puts it
// in the context so traces can name producers and consumers. brokerrpc
// carries it across the wire in split-role deployments.
type Caller struct {
	ClientID string
	Addr     string // client address (host:port), when known
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx (zero if none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
