package broker

import (
	"context"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Topic and group definitions are written to meta.db inside Broker.mu so the
// in-memory maps and the file never disagree.

// CreateTopic validates and stores a new topic. Users cannot create reserved
// names (system topics, %RETRY%, %DLQ%...).
func (b *Broker) CreateTopic(ctx context.Context, t Topic) (Topic, error) {
	if err := ctx.Err(); err != nil {
		return Topic{}, err
	}
	if err := validateTopic(t); err != nil {
		return Topic{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Topic{}, ErrClosed
	}
	if _, ok := b.topics[t.Name]; ok {
		return Topic{}, fmt.Errorf("create topic %q: %w", t.Name, ErrTopicExists)
	}
	if limit := b.cfg.MaxTopics; limit > 0 && b.userTopicsLocked() >= limit {
		return Topic{}, fmt.Errorf("create topic %q: %w: the instance allows %d topics", t.Name, ErrQuotaExceeded, limit)
	}
	return b.createTopicLocked(t)
}

// userTopicsLocked counts the topics that count against Config.MaxTopics:
// all but the broker's own. Callers hold mu.
func (b *Broker) userTopicsLocked() int {
	n := 0
	for name := range b.topics {
		if !isSystemTopic(name) {
			n++
		}
	}
	return n
}

func (b *Broker) createTopicLocked(t Topic) (Topic, error) {
	now := b.now().UTC()
	t.CreatedAt, t.UpdatedAt = now, now
	if err := b.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketTopics, t.Name, t) }); err != nil {
		return Topic{}, fmt.Errorf("store topic %q: %w", t.Name, err)
	}
	b.topics[t.Name] = &topicEntry{Topic: t}
	b.log.Info("topic created", "topic", t.Name, "type", t.Type, "queues", t.Queues, "max_send_tps", t.MaxSendTPS)
	return t, nil
}

// UpdateTopic changes a topic's type, queue count or send cap. Queues may only grow:
// shrinking would strand the messages of the removed queues.
func (b *Broker) UpdateTopic(ctx context.Context, t Topic) (Topic, error) {
	if err := ctx.Err(); err != nil {
		return Topic{}, err
	}
	if err := validateTopic(t); err != nil {
		return Topic{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Topic{}, ErrClosed
	}
	te, ok := b.topics[t.Name]
	if !ok {
		return Topic{}, fmt.Errorf("update topic %q: %w", t.Name, ErrTopicNotFound)
	}
	if t.Queues < te.Queues {
		return Topic{}, fmt.Errorf("%w: topic %q has %d queues; the count can only grow", ErrInvalidArgument, t.Name, te.Queues)
	}
	t.CreatedAt, t.UpdatedAt = te.CreatedAt, b.now().UTC()
	if err := b.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketTopics, t.Name, t) }); err != nil {
		return Topic{}, fmt.Errorf("store topic %q: %w", t.Name, err)
	}
	te.Topic = t
	for k, s := range b.subs {
		if k.topic == t.Name {
			s.grow(b.st, t.Queues)
		}
	}
	b.log.Info("topic updated", "topic", t.Name, "type", t.Type, "queues", t.Queues, "max_send_tps", t.MaxSendTPS)
	return t, nil
}

// DeleteTopic removes a topic, every group's offsets on it and its consume
// queues. Broker-made topics (%DLQ%...) may be deleted too.
func (b *Broker) DeleteTopic(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.ckMu.Lock()
	defer b.ckMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if _, ok := b.topics[name]; !ok {
		return fmt.Errorf("delete topic %q: %w", name, ErrTopicNotFound)
	}
	// Metadata first: if the store then fails, the worst case is stale
	// messages under a recreated topic, never a consumer offset that points
	// past a queue that started over.
	if err := b.forget(bucketTopics, name, func(_, t string) bool { return t == name }); err != nil {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	delete(b.topics, name)
	if err := b.st.DeleteQueues(name); err != nil {
		return fmt.Errorf("delete queues of topic %q: %w", name, err)
	}
	b.log.Info("topic deleted", "topic", name)
	return nil
}

// GetTopic returns a topic's definition.
func (b *Broker) GetTopic(name string) (Topic, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return Topic{}, ErrClosed
	}
	te, ok := b.topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("topic %q: %w", name, ErrTopicNotFound)
	}
	return te.Topic, nil
}

// ListTopics returns topics sorted by name after the given one; limit ≤ 0
// means all. Broker-made %DLQ% topics are included.
func (b *Broker) ListTopics(after string, limit int) []Topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Topic, 0, len(b.topics))
	for name, te := range b.topics {
		if name > after {
			out = append(out, te.Topic)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// CreateGroup validates and stores a consumer group (MaxRetries 0 → 16).
func (b *Broker) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if err := ctx.Err(); err != nil {
		return Group{}, err
	}
	g, err := normalizeGroup(g)
	if err != nil {
		return Group{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Group{}, ErrClosed
	}
	if _, ok := b.groups[g.Name]; ok {
		return Group{}, fmt.Errorf("create group %q: %w", g.Name, ErrGroupExists)
	}
	if limit := b.cfg.MaxGroups; limit > 0 && len(b.groups) >= limit {
		return Group{}, fmt.Errorf("create group %q: %w: the instance allows %d consumer groups", g.Name, ErrQuotaExceeded, limit)
	}
	now := b.now().UTC()
	g.CreatedAt, g.UpdatedAt = now, now
	if err := b.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketGroups, g.Name, g) }); err != nil {
		return Group{}, fmt.Errorf("store group %q: %w", g.Name, err)
	}
	b.groups[g.Name] = g
	b.log.Info("group created", "group", g.Name, "max_retries", g.MaxRetries, "orderly", g.Orderly,
		"max_receive_tps", g.MaxReceiveTPS, "retry_interval", g.RetryInterval)
	return g, nil
}

// UpdateGroup changes a group's settings; receives that start afterwards
// use them.
func (b *Broker) UpdateGroup(ctx context.Context, g Group) (Group, error) {
	if err := ctx.Err(); err != nil {
		return Group{}, err
	}
	g, err := normalizeGroup(g)
	if err != nil {
		return Group{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Group{}, ErrClosed
	}
	old, ok := b.groups[g.Name]
	if !ok {
		return Group{}, fmt.Errorf("update group %q: %w", g.Name, ErrGroupNotFound)
	}
	g.CreatedAt, g.UpdatedAt = old.CreatedAt, b.now().UTC()
	if err := b.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketGroups, g.Name, g) }); err != nil {
		return Group{}, fmt.Errorf("store group %q: %w", g.Name, err)
	}
	b.groups[g.Name] = g
	b.log.Info("group updated", "group", g.Name, "max_retries", g.MaxRetries, "orderly", g.Orderly,
		"max_receive_tps", g.MaxReceiveTPS, "retry_interval", g.RetryInterval)
	return g, nil
}

// DeleteGroup removes a group and its offsets and in-flight state. Its DLQ
// topic stays: it holds messages someone may still want.
func (b *Broker) DeleteGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.ckMu.Lock()
	defer b.ckMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if _, ok := b.groups[name]; !ok {
		return fmt.Errorf("delete group %q: %w", name, ErrGroupNotFound)
	}
	if err := b.forget(bucketGroups, name, func(g, _ string) bool { return g == name }); err != nil {
		return fmt.Errorf("delete group %q: %w", name, err)
	}
	delete(b.groups, name)
	b.log.Info("group deleted", "group", name)
	return nil
}

// GetGroup returns a group's definition.
func (b *Broker) GetGroup(name string) (Group, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return Group{}, ErrClosed
	}
	g, ok := b.groups[name]
	if !ok {
		return Group{}, fmt.Errorf("group %q: %w", name, ErrGroupNotFound)
	}
	return g, nil
}

// ListGroups returns groups sorted by name after the given one; limit ≤ 0
// means all.
func (b *Broker) ListGroups(after string, limit int) []Group {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Group, 0, len(b.groups))
	for name, g := range b.groups {
		if name > after {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// forget removes a topic's or group's row from bucket with every consumer
// offset and subscription that owns(group, topic) matches, waking their
// long-pollers. Callers hold ckMu and mu.
func (b *Broker) forget(bucket []byte, name string, owns func(group, topic string) bool) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucket).Delete([]byte(name)); err != nil {
			return err
		}
		return deleteOffsets(tx, owns)
	})
	if err != nil {
		return err
	}
	for k, s := range b.subs {
		if owns(k.group, k.topic) {
			delete(b.subs, k)
			s.wakeAll()
		}
	}
	return nil
}
