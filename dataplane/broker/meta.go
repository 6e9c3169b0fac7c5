package broker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// meta.db layout (bbolt):
//
//	meta     "version" → "1"
//	topics   name → JSON Topic
//	groups   name → JSON Group
//	offsets  group \x00 topic \x00 uint32 BE queue → int64 BE consumer offset
//
// Names never contain \x00 (validateName), so the offset keys split cleanly.
var (
	bucketMeta    = []byte("meta")
	bucketTopics  = []byte("topics")
	bucketGroups  = []byte("groups")
	bucketOffsets = []byte("offsets")
)

const metaVersion = "1"

func openMeta(dir string) (*bolt.DB, error) {
	path := filepath.Join(dir, "meta.db")
	// A timeout turns "another broker holds this data dir" into an error
	// instead of a hang.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketTopics, bucketGroups, bucketOffsets} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("version")); {
		case v == nil:
			return meta.Put([]byte("version"), []byte(metaVersion))
		case string(v) != metaVersion:
			return fmt.Errorf("unsupported meta.db version %q", v)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	return db, nil
}

func offsetKey(group, topic string, queue int32) []byte {
	k := make([]byte, 0, len(group)+len(topic)+6)
	k = append(k, group...)
	k = append(k, 0)
	k = append(k, topic...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(queue))
}

func parseOffsetKey(k []byte) (group, topic string, queue int32, ok bool) {
	if len(k) < 6 {
		return "", "", 0, false
	}
	parts := strings.SplitN(string(k[:len(k)-4]), "\x00", 3)
	if len(parts) != 3 || parts[2] != "" {
		return "", "", 0, false
	}
	return parts[0], parts[1], int32(binary.BigEndian.Uint32(k[len(k)-4:])), true
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
}

// deleteOffsets removes the offsets of every (group, topic) that match.
func deleteOffsets(tx *bolt.Tx, match func(group, topic string) bool) error {
	bkt := tx.Bucket(bucketOffsets)
	var doomed [][]byte
	// Collect first: deleting under a live cursor skips keys in bbolt.
	if err := bkt.ForEach(func(k, _ []byte) error {
		if g, t, _, ok := parseOffsetKey(k); !ok || match(g, t) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range doomed {
		if err := bkt.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// loadMeta reads topics, groups and offsets and rebuilds a subscription for
// every (group, topic) with persisted offsets, so Offsets reports them and
// receives resume where the last checkpoint left off.
func (b *Broker) loadMeta() error {
	type stored struct {
		group, topic string
		queue        int32
		offset       int64
	}
	var offsets []stored
	err := b.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTopics).ForEach(func(k, v []byte) error {
			var t Topic
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("topic %q: %w", k, err)
			}
			b.topics[t.Name] = &topicEntry{Topic: t}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			var g Group
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("group %q: %w", k, err)
			}
			b.groups[g.Name] = g
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketOffsets).ForEach(func(k, v []byte) error {
			g, t, q, ok := parseOffsetKey(k)
			if !ok || len(v) != 8 {
				return errors.New("malformed offset record")
			}
			offsets = append(offsets, stored{g, t, q, int64(binary.BigEndian.Uint64(v))})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load meta.db: %w", err)
	}
	for _, o := range offsets {
		te, tok := b.topics[o.topic]
		if _, gok := b.groups[o.group]; !gok || !tok {
			continue // left over from a deletion interrupted by a crash
		}
		sub := b.subs[subKey{o.group, o.topic}]
		if sub == nil {
			sub = b.newSubscription(o.group, o.topic, te.Queues)
			b.subs[subKey{o.group, o.topic}] = sub
		}
		if int(o.queue) < len(sub.queues) {
			q := sub.queues[o.queue]
			q.persisted = o.offset
			// An offset past the queue's end means the store lost data or
			// was replaced; follow it down now, before new appends land
			// below our cursor and get skipped.
			if r := b.st.Range(o.topic, o.queue); o.offset > r.Max {
				b.log.Warn("stored consumer offset beyond the end of the queue; moving it back",
					"group", o.group, "topic", o.topic, "queue", o.queue, "offset", o.offset, "max", r.Max)
				o.offset = r.Max
			}
			q.reset(o.offset)
		}
	}
	return nil
}
