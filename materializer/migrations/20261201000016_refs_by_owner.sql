-- The references are always looked up by owner (a privacy change or a removal revising the
-- owner's public events, an account deletion, the export) and deleted with the owner known: one
-- index keyed by owner then event serves them all. The event's own key was a second index entry
-- per public event, at a random place (event ids are random), for nothing: `site.public_events`
-- keeps each event id unique.
ALTER TABLE users.public_event_refs DROP CONSTRAINT public_event_refs_pkey;
DROP INDEX users.public_event_refs_user;
ALTER TABLE users.public_event_refs ADD PRIMARY KEY (user_id, event_id);
