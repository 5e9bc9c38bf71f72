-- Cheaper writes for the materializer's batches (bench/README.md §3, "Plain appends, fewer index
-- entries").
--
-- Every batch moves the position of each of its users: with room left on the pages, the new row
-- version goes beside the old one and the primary key is not touched (a HOT update). Measured:
-- 18 % of these updates were HOT with full pages, 99.5 % with half-empty ones. Applies to pages
-- written from now on.
ALTER TABLE materializer.user_sequences SET (fillfactor = 50);

-- The counted keys are looked up by their whole primary key; the day only serves the pruning of
-- past days every few minutes. Keys arrive in day order, so a block-range index finds the old days
-- as well, for a fraction of the cost of a btree entry per key.
DROP INDEX site.popularity_counted_day;
CREATE INDEX popularity_counted_day ON site.popularity_counted USING brin (day);
