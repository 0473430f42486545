-- WeChat: which service-account follower (openid) is which phone or account, so that a
-- notification for a phone or an account can go by WeChat (free) before SMS (paid). The
-- centre's WeChat integration binds a follower when they confirm their phone (or sign in);
-- one openid per phone and per account, the latest binding wins.

CREATE TABLE wechat_bindings (
    openid   TEXT PRIMARY KEY,
    phone    TEXT UNIQUE,
    user_id  BIGINT UNIQUE REFERENCES users(id),
    bound_by BIGINT REFERENCES users(id),
    bound_at BIGINT NOT NULL,
    CHECK (phone IS NOT NULL OR user_id IS NOT NULL)
);
