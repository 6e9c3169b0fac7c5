package namesrv

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Errors returned by the table.
var (
	// ErrTopicNotFound means no registered broker serves the topic.
	ErrTopicNotFound = errors.New("topic not found")
	// ErrNoReadableQueue means the topic exists but no queue may be read.
	ErrNoReadableQueue = errors.New("no readable queue")
	// ErrInvalidBroker is returned by Register for an unusable registration.
	ErrInvalidBroker = errors.New("invalid broker registration")
)

// Perm is a queue's permission, with the values RocketMQ uses on the wire
// (apache.rocketmq.v2.Permission).
type Perm int32

const (
	PermNone      Perm = 1
	PermRead      Perm = 2
	PermWrite     Perm = 3
	PermReadWrite Perm = 4
)

// Readable reports whether consumers may receive from a queue with p.
func (p Perm) Readable() bool { return p == PermRead || p == PermReadWrite }

// Writable reports whether producers may send to a queue with p.
func (p Perm) Writable() bool { return p == PermWrite || p == PermReadWrite }

// Topic is what a broker says about one of its topics.
type Topic struct {
	Name   string
	Type   string // NORMAL, FIFO, DELAY, TRANSACTION, MIXED, ...
	Queues int32
	Perm   Perm // zero means PermReadWrite
}

// TopicSource looks topics up in one broker. It returns an error wrapping
// ErrTopicNotFound for a topic the broker does not have.
type TopicSource interface {
	LookupTopic(name string) (Topic, error)
}

// TopicSourceFunc adapts a function to TopicSource.
type TopicSourceFunc func(name string) (Topic, error)

// LookupTopic calls f.
func (f TopicSourceFunc) LookupTopic(name string) (Topic, error) { return f(name) }

// Broker is a registered broker.
type Broker struct {
	Name string
	// Endpoints are the "host:port" addresses clients use to reach the broker.
	// Empty means "the address the client already used" (single-node setups
	// where the proxy echoes the client's access point).
	Endpoints []string
}

// QueueRoute is one queue of a topic on one broker.
type QueueRoute struct {
	Topic     string
	TopicType string
	Broker    Broker
	// QueueID is 0..Queues-1, or -1 in assignments meaning "every queue of
	// this broker".
	QueueID int32
	Perm    Perm
}

type entry struct {
	broker Broker
	topics TopicSource
}

// Table is the route table. It is safe for concurrent use.
type Table struct {
	mu      sync.RWMutex
	brokers map[string]entry
}

// New returns an empty table.
func New() *Table {
	return &Table{brokers: make(map[string]entry)}
}

// Register adds a broker or replaces the registration of the same name.
func (t *Table) Register(name string, endpoints []string, topics TopicSource) error {
	if name == "" {
		return fmt.Errorf("register broker: %w: empty name", ErrInvalidBroker)
	}
	if topics == nil {
		return fmt.Errorf("register broker %q: %w: nil topic source", name, ErrInvalidBroker)
	}
	for _, e := range endpoints {
		if e == "" {
			return fmt.Errorf("register broker %q: %w: empty endpoint", name, ErrInvalidBroker)
		}
	}
	b := Broker{Name: name, Endpoints: append([]string(nil), endpoints...)}
	t.mu.Lock()
	t.brokers[name] = entry{broker: b, topics: topics}
	t.mu.Unlock()
	return nil
}

// Unregister removes a broker; unknown names are ignored.
func (t *Table) Unregister(name string) {
	t.mu.Lock()
	delete(t.brokers, name)
	t.mu.Unlock()
}

// Broker returns the registration of one broker.
func (t *Table) Broker(name string) (Broker, bool) {
	t.mu.RLock()
	e, ok := t.brokers[name]
	t.mu.RUnlock()
	if !ok {
		return Broker{}, false
	}
	return cloneBroker(e.broker), true
}

// Brokers returns the registered brokers sorted by name.
func (t *Table) Brokers() []Broker {
	es := t.sorted()
	out := make([]Broker, 0, len(es))
	for _, e := range es {
		out = append(out, cloneBroker(e.broker))
	}
	return out
}

func (t *Table) sorted() []entry {
	t.mu.RLock()
	es := make([]entry, 0, len(t.brokers))
	for _, e := range t.brokers {
		es = append(es, e)
	}
	t.mu.RUnlock()
	sort.Slice(es, func(i, j int) bool { return es[i].broker.Name < es[j].broker.Name })
	return es
}

func cloneBroker(b Broker) Broker {
	b.Endpoints = append([]string(nil), b.Endpoints...)
	return b
}

// Route returns every queue of topic on every broker that has it, ordered by
// broker name and queue id. The order is stable: clients compare routes
// element by element to detect changes.
func (t *Table) Route(topic string) ([]QueueRoute, error) {
	var out []QueueRoute
	var firstErr error
	for _, e := range t.sorted() {
		tp, err := e.topics.LookupTopic(topic)
		if errors.Is(err, ErrTopicNotFound) {
			continue
		}
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("look up topic %q on broker %q: %w", topic, e.broker.Name, err)
			}
			continue
		}
		perm := tp.Perm
		if perm == 0 {
			perm = PermReadWrite
		}
		for q := int32(0); q < tp.Queues; q++ {
			out = append(out, QueueRoute{
				Topic:     topic,
				TopicType: tp.Type,
				Broker:    cloneBroker(e.broker),
				QueueID:   q,
				Perm:      perm,
			})
		}
	}
	if len(out) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, fmt.Errorf("route %q: %w", topic, ErrTopicNotFound)
	}
	return out, nil
}

// Assignments answers a push consumer's QueryAssignment. A FIFO group gets one
// assignment per readable queue; any other group one per broker with QueueID
// -1 ("receive from any queue of this broker"), which is what Apache does.
func (t *Table) Assignments(topic string, fifo bool) ([]QueueRoute, error) {
	routes, err := t.Route(topic)
	if err != nil {
		return nil, err
	}
	var out []QueueRoute
	seen := make(map[string]bool)
	for _, r := range routes {
		if !r.Perm.Readable() {
			continue
		}
		if fifo {
			out = append(out, r)
			continue
		}
		if seen[r.Broker.Name] {
			continue
		}
		seen[r.Broker.Name] = true
		r.QueueID = -1
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("assign %q: %w", topic, ErrNoReadableQueue)
	}
	return out, nil
}
