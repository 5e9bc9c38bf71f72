-- When the growth that retired a prefix finished copying: from then on the retired prefix's
-- instances stop relaying public events (the successor's instances write the outbox they share),
-- and the successor's instances may start.
ALTER TABLE materializer.retired_topics ADD COLUMN completed_at timestamptz;
