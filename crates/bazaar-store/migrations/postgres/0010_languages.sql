-- The language a person reads: an account's (the one it last signed in with), and a service
-- point's (for villagers reached by phone only). Messages to people are composed in it.
ALTER TABLE users ADD COLUMN lang TEXT;
ALTER TABLE nodes ADD COLUMN lang TEXT;
ALTER TABLE notifications ADD COLUMN lang TEXT;
