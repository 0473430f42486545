-- Jobs a person starts from a page and waits for (planning a day's run): whose job it is,
-- so only they (and admins) follow it, and what it came to (JSON: the run it made, or the
-- reason it made none), which the page they wait on shows.
ALTER TABLE jobs ADD COLUMN owner_id BIGINT;
ALTER TABLE jobs ADD COLUMN result TEXT;
