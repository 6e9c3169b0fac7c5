package broker_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// byID queries one message id and returns the single result.
func (e *env) byID(topic, id string) broker.MessageInfo {
	e.t.Helper()
	page, err := e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: topic, MessageID: id})
	require.NoError(e.t, err)
	require.Len(e.t, page.Messages, 1, "message %s", id)
	require.Empty(e.t, page.NextCursor)
	return page.Messages[0]
}

// states maps group → state (and attempt) for compact assertions.
func states(info broker.MessageInfo) map[string]string {
	out := map[string]string{}
	for _, g := range info.Groups {
		out[g.Group] = fmt.Sprintf("%s/%d", g.State, g.Attempt)
	}
	return out
}

func TestQueryMessagesByIDDeliveryStates(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open)
			ctx := context.Background()
			e.topic("t", broker.TopicNormal, 1)
			e.group("a", 0)  // 16 retries
			e.group("d", -1) // one delivery, then the DLQ
			e.group("idle", 0)
			e.send("t", "m", 5, func(i int, m *store.Message) { m.Keys = []string{"k"} })

			// d: m-0 times out and is dead-lettered by the next receive, which
			// delivers m-1.
			require.Equal(t, []string{"m-0"}, ids(e.recv(recvReq("d", "t", 1))))
			e.clk.Advance(31 * time.Second)
			require.Equal(t, []string{"m-1"}, ids(e.recv(recvReq("d", "t", 1))))

			// a: acks m-0, keeps m-1 in flight and makes m-2 visible again now.
			ds := e.recv(recvReq("a", "t", 3))
			require.Equal(t, []string{"m-0", "m-1", "m-2"}, ids(ds))
			e.ackAll("a", ds[:1])
			_, err := e.b.ChangeInvisible(ctx, "a", "t", "m-2", ds[2].ReceiptHandle, 0)
			require.NoError(t, err)

			now := e.clk.Now()
			m0 := e.byID("t", "m-0")
			require.Equal(t, broker.MessageStored, m0.State)
			require.Equal(t, "t", m0.Message.Topic)
			require.Equal(t, []byte("body-m-0"), m0.Message.Body)
			require.Equal(t, map[string]string{"a": "ACKED/0", "d": "DLQ/1"}, states(m0), "idle never received: it does not consume the topic")

			m1 := e.byID("t", "m-1")
			require.Equal(t, map[string]string{"a": "IN_FLIGHT/1", "d": "IN_FLIGHT/1"}, states(m1))
			require.Equal(t, now.Add(30*time.Second), m1.Groups[0].InvisibleUntil)

			require.Equal(t, map[string]string{"a": "RETRYING/1", "d": "NOT_DELIVERED/0"}, states(e.byID("t", "m-2")))
			require.Equal(t, map[string]string{"a": "NOT_DELIVERED/0", "d": "NOT_DELIVERED/0"}, states(e.byID("t", "m-4")))

			// The dead-letter copy is found in the DLQ topic under the same id.
			dead := e.byID(broker.DLQTopic("d"), "m-0")
			require.Equal(t, "t", dead.Message.OriginTopic)
			require.EqualValues(t, 1, dead.Message.DeliveryAttempt)
			require.Empty(t, dead.Groups)

			page, err := e.b.QueryMessages(ctx, broker.MessageQuery{Topic: "t", MessageID: "nobody"})
			require.NoError(t, err)
			require.Empty(t, page.Messages)
			require.Empty(t, page.NextCursor)

			// A copy of the id in another topic is not a match.
			e.topic("other", broker.TopicNormal, 1)
			e.send("other", "m", 1, nil)
			require.Equal(t, "t", e.byID("t", "m-0").Message.Topic)
		})
	}
}

func TestQueryMessagesByIDDuplicatesPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 2)
	// A producer retrying a send stores the same id again.
	for range 5 {
		e.send("t", "dup", 1, nil)
	}
	var got []int64
	q := broker.MessageQuery{Topic: "t", MessageID: "dup-0", Limit: 2}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := e.b.QueryMessages(context.Background(), q)
		require.NoError(t, err)
		for _, m := range page.Messages {
			got = append(got, m.Message.CommitLogOffset)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	require.Len(t, got, 5)
	require.True(t, slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }), "newest first: %v", got)
}

func TestQueryMessagesByKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 4)
	e.send("t", "m", 30, func(i int, m *store.Message) {
		m.Keys = []string{"all", fmt.Sprint("only-", i)}
		if i%3 == 0 {
			m.Keys = append(m.Keys, "third")
		}
	})
	collect := func(key string, limit int) ([]string, int) {
		var got []string
		pages := 0
		q := broker.MessageQuery{Topic: "t", Key: key, Limit: limit}
		for {
			pages++
			require.Less(t, pages, 50)
			page, err := e.b.QueryMessages(context.Background(), q)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Messages), limit)
			for _, m := range page.Messages {
				require.Contains(t, m.Message.Keys, key)
				got = append(got, m.Message.MessageID)
			}
			if page.NextCursor == "" {
				return got, pages
			}
			q.Cursor = page.NextCursor
		}
	}
	all, pages := collect("all", 7)
	require.Len(t, all, 30)
	require.Equal(t, 5, pages)
	require.Equal(t, "m-29", all[0], "newest first")
	require.Equal(t, "m-0", all[29])

	third, _ := collect("third", 100)
	require.Len(t, third, 10)
	one, _ := collect("only-17", 20)
	require.Equal(t, []string{"m-17"}, one)
	none, _ := collect("nothing", 20)
	require.Empty(t, none)
}

func TestQueryMessagesByTimeRange(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open)
			e.topic("t", broker.TopicNormal, 3)
			start := e.clk.Now()
			for i := range 30 { // one message a minute, round robin over the queues
				e.send("t", fmt.Sprint("m", i), 1, nil)
				e.clk.Advance(time.Minute)
			}
			var want []string
			for i := 5; i < 20; i++ {
				want = append(want, fmt.Sprintf("m%d-0", i))
			}
			from, to := start.Add(5*time.Minute), start.Add(20*time.Minute)

			var got []string
			q := broker.MessageQuery{Topic: "t", Start: from, End: to, Limit: 4}
			for pages := 0; ; pages++ {
				require.Less(t, pages, 20)
				page, err := e.b.QueryMessages(context.Background(), q)
				require.NoError(t, err)
				for _, m := range page.Messages {
					require.False(t, m.Message.StoreTime.Before(from), "stored at %s", m.Message.StoreTime)
					require.True(t, m.Message.StoreTime.Before(to), "stored at %s", m.Message.StoreTime)
					got = append(got, m.Message.MessageID)
				}
				if page.NextCursor == "" {
					break
				}
				q.Cursor = page.NextCursor
			}
			require.ElementsMatch(t, want, got, "every message of the range once")

			page, err := e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "t", Start: start.Add(time.Hour), End: start.Add(2 * time.Hour)})
			require.NoError(t, err)
			require.Empty(t, page.Messages)
			require.Empty(t, page.NextCursor)
			page, err = e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "t", Start: from, End: from})
			require.NoError(t, err)
			require.Empty(t, page.Messages, "an empty range")
		})
	}
}

func TestQueryMessagesBoundsWorkPerCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 64)
	// A message group whose queue is far from queue 0: every message of the
	// topic is there, and the queues before it are empty.
	group := ""
	for i := 0; group == ""; i++ {
		h := fnv.New32a()
		fmt.Fprint(h, "g", i)
		if h.Sum32()%64 >= 40 {
			group = fmt.Sprint("g", i)
		}
	}
	res := e.send("t", "m", 10, func(_ int, m *store.Message) { m.Type, m.Group = store.TypeFIFO, group })
	require.GreaterOrEqual(t, res[0].QueueID, int32(40))

	q := broker.MessageQuery{Topic: "t", Start: e.clk.Now().Add(-time.Hour), End: e.clk.Now().Add(time.Hour), Limit: 2}
	var got []string
	empty := 0
	for calls := 0; ; calls++ {
		require.Less(t, calls, 100)
		page, err := e.b.QueryMessages(context.Background(), q)
		require.NoError(t, err)
		if len(page.Messages) == 0 && page.NextCursor != "" {
			empty++
		}
		for _, m := range page.Messages {
			got = append(got, m.Message.MessageID)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	require.Len(t, got, 10)
	require.Equal(t, "m-0", got[0], "queue order")
	// Each call looks at no more than 4 × Limit queues or messages, so the
	// empty queues take several empty pages, each with a cursor.
	require.GreaterOrEqual(t, empty, 40/8)
}

func TestQueryMessagesParked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("later", broker.TopicDelay, 1)
	e.group("g", 0)
	due := e.clk.Now().Add(time.Hour)
	res := e.send("later", "d", 1, func(_ int, m *store.Message) { m.Type, m.DeliveryTime = store.TypeDelay, due })
	require.NotEmpty(t, res[0].RecallHandle, "scheduled")
	e.recv(recvReq("g", "later", 1)) // subscribes g

	info := e.byID("later", "d-0")
	require.Equal(t, broker.MessageScheduled, info.State)
	require.Equal(t, "d-0", info.Message.MessageID)
	require.True(t, due.Equal(info.Message.DeliveryTime))
	require.Equal(t, map[string]string{"g": "NOT_DELIVERED/0"}, states(info))
}

func TestQueryMessagesInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.send("t", "m", 3, nil)
	now := e.clk.Now()
	first, err := e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "t", Key: "", MessageID: "m-0", Limit: 1})
	require.NoError(t, err)
	other, err := e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "t", Start: now.Add(-time.Hour), End: now.Add(time.Hour), Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, other.NextCursor)

	tests := []struct {
		name string
		q    broker.MessageQuery
		want string
	}{
		{"no topic", broker.MessageQuery{MessageID: "m-0"}, "topic is required"},
		{"no selector", broker.MessageQuery{Topic: "t"}, "exactly one of"},
		{"id and key", broker.MessageQuery{Topic: "t", MessageID: "m-0", Key: "k"}, "exactly one of"},
		{"key and time", broker.MessageQuery{Topic: "t", Key: "k", Start: now, End: now}, "exactly one of"},
		{"start only", broker.MessageQuery{Topic: "t", Start: now}, "both a start and an end"},
		{"end only", broker.MessageQuery{Topic: "t", End: now}, "both a start and an end"},
		{"end before start", broker.MessageQuery{Topic: "t", Start: now, End: now.Add(-time.Second)}, "is before start"},
		{"negative limit", broker.MessageQuery{Topic: "t", MessageID: "m-0", Limit: -1}, "limit -1 is outside 1..100"},
		{"limit too big", broker.MessageQuery{Topic: "t", MessageID: "m-0", Limit: 101}, "limit 101 is outside 1..100"},
		{"garbage cursor", broker.MessageQuery{Topic: "t", MessageID: "m-0", Cursor: "!!"}, "invalid cursor"},
		{"cursor of another query", broker.MessageQuery{Topic: "t", MessageID: "m-1", Cursor: other.NextCursor}, "invalid cursor"},
		{"cursor of the same kind, other range", broker.MessageQuery{Topic: "t", Start: now.Add(-time.Minute), End: now.Add(time.Hour), Cursor: other.NextCursor}, "invalid cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.b.QueryMessages(context.Background(), tc.q)
			require.ErrorIs(t, err, broker.ErrInvalidArgument)
			require.ErrorContains(t, err, tc.want)
		})
	}
	require.Empty(t, first.NextCursor)

	_, err = e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "nope", MessageID: "m-0"})
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
	_, err = e.b.Trace(context.Background(), "nope", "m-0")
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
	_, err = e.b.Trace(context.Background(), "t", "")
	require.ErrorIs(t, err, broker.ErrInvalidArgument)

	require.NoError(t, e.b.Close())
	_, err = e.b.QueryMessages(context.Background(), broker.MessageQuery{Topic: "t", MessageID: "m-0"})
	require.ErrorIs(t, err, broker.ErrClosed)
	e.b = nil
}

// TestTraceThroughBroker runs a broker with a trace.Writer as its Tracer:
// whatever events the broker records for a message come back from Trace,
// oldest first and only for the asked topic. Events recorded directly
// through the writer make the check independent of which events the
// broker records.
func TestTraceThroughBroker(t *testing.T) {
	t.Parallel()
	var w *trace.Writer
	e := newEnvOn(t, fileStore, func(c *broker.Config) {
		var err error
		w, err = trace.NewWriter(trace.Config{Store: c.Store, FlushInterval: time.Hour})
		require.NoError(t, err)
		c.Tracer = w
	})
	e.topic("t", broker.TopicNormal, 1)
	e.topic("u", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	e.ackAll("g", e.recv(recvReq("g", "t", 1)))

	at := e.clk.Now().Add(time.Hour) // after anything the broker recorded
	w.Record(trace.Event{Kind: trace.KindNack, Time: at, MessageID: "m-0", Topic: "t", Group: "g", Attempt: 1, InvisibleUntil: at.Add(time.Minute)})
	w.Record(trace.Event{Kind: trace.KindAck, Time: at.Add(time.Second), MessageID: "m-0", Topic: "t", Group: "g", Attempt: 2})
	w.Record(trace.Event{Kind: trace.KindSend, Time: at, MessageID: "m-0", Topic: "u"})
	require.NoError(t, w.Close()) // flushes

	evs, err := e.b.Trace(context.Background(), "t", "m-0")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(evs), 2)
	for i, ev := range evs {
		require.Equal(t, "t", ev.Topic)
		require.Equal(t, "m-0", ev.MessageID)
		if i > 0 {
			require.False(t, ev.Time.Before(evs[i-1].Time), "oldest first")
		}
	}
	last := evs[len(evs)-2:]
	require.Equal(t, []trace.Kind{trace.KindNack, trace.KindAck}, []trace.Kind{last[0].Kind, last[1].Kind})
	require.EqualValues(t, 2, last[1].Attempt)

	none, err := e.b.Trace(context.Background(), "t", "nobody")
	require.NoError(t, err)
	require.Empty(t, none)
}
