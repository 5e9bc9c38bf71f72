-- Topics retired by a partition growth (`balados admin partitions grow`): their commands, events
-- and state were copied to the topics of `successor_prefix`, with `partitions` partitions. An
-- instance still configured with a retired prefix refuses writes (503, retry) until it is
-- restarted with the successor's, so that nothing is written where no one will read it.
CREATE TABLE materializer.retired_topics (
    topic_prefix     text        PRIMARY KEY,
    successor_prefix text        NOT NULL,
    partitions       integer     NOT NULL,
    retired_at       timestamptz NOT NULL DEFAULT now()
);
