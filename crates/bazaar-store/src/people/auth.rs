//! Accounts, passwords (argon2id), session cookies and API tokens (stored as SHA-256 hashes),
//! and login throttling kept in the database so it holds across several server nodes.

use crate::people::throttle::Limit;
use crate::{Store, StoreError, in_tx, on_read};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Sign-in attempts on one account from one client before each further one waits longer.
pub const FREE_PER_ACCOUNT_AND_CLIENT: i64 = 5;
/// Sign-in attempts from one client, across accounts, before delays begin (a school or an
/// office behind one address signs in many people).
pub const FREE_PER_CLIENT: i64 = 30;
/// Sign-in attempts on one account, across clients, before delays begin (guessing from many
/// addresses).
pub const FREE_PER_ACCOUNT: i64 = 100;
/// Lifetime of a page session: 14 days.
pub const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// Lifetime of an API token: 90 days.
pub const API_TOKEN_TTL_MS: i64 = 90 * 24 * 3600 * 1000;

/// What kind of secret a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Page session cookie.
    Session,
    /// API bearer token.
    Api,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (checked with `parse_username`).
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Plain password; hashed before it is stored.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Operators: the region they run.
    pub region_code: Option<String>,
    /// Agents: their service point.
    pub node_code: Option<String>,
    /// Sellers: the seller they act for.
    pub seller_id: Option<i64>,
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes), off the async
/// threads.
pub async fn hash_password(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Config(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| StoreError::Config(format!("hashing task failed: {e}")))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A fresh random secret (256 bits, hex).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    id: i64,
    username: String,
    role: String,
    op_path: Option<String>,
    node_path: Option<String>,
    node_code: Option<String>,
    seller_id: Option<i64>,
}

impl ActorRow {
    fn into_actor(self) -> Option<Actor> {
        let role = Role::parse("role", &self.role).ok()?;
        Some(Actor {
            user_id: self.id,
            username: self.username,
            role,
            region_path: self.op_path.or(self.node_path),
            node_code: self.node_code,
            seller_id: self.seller_id,
        })
    }
}

const ACTOR_SELECT: &str = "SELECT u.id, u.username, u.role, r.path AS op_path, \
    nr.path AS node_path, u.node_code, u.seller_id FROM users u \
    LEFT JOIN regions r ON r.code = u.region_code \
    LEFT JOIN nodes n ON n.code = u.node_code \
    LEFT JOIN regions nr ON nr.code = n.region_code";

impl Store {
    /// Creates an account; the password is hashed with argon2id.
    pub async fn create_user(&self, u: &NewUser) -> Result<i64, StoreError> {
        let hash = hash_password(u.password.clone()).await?;
        let now = now_ms();
        in_tx!(self, |c| {
            let r = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, display_name, password_hash, role, region_code, \
                 node_code, seller_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING id",
            )
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(&hash)
            .bind(u.role.as_str())
            .bind(&u.region_code)
            .bind(&u.node_code)
            .bind(u.seller_id)
            .bind(now)
            .fetch_one(&mut *c)
            .await;
            match r {
                Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::field(
                    "username",
                    bazaar_domain::Reason::Duplicate,
                )),
                Err(e) => Err(e.into()),
                Ok(id) => Ok(id),
            }
        })
    }

    /// The id of the account `username` (enabled or not).
    pub async fn user_id(&self, username: &str) -> Result<i64, StoreError> {
        let id: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(p)
                .await?
        });
        id.ok_or(StoreError::NotFound)
    }

    /// The acting user for an account id.
    pub async fn actor(&self, user_id: i64) -> Result<Actor, StoreError> {
        let sql = format!("{ACTOR_SELECT} WHERE u.id = $1 AND u.disabled = FALSE");
        let row: Option<ActorRow> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(user_id).fetch_optional(p).await?
        });
        row.and_then(ActorRow::into_actor)
            .ok_or(StoreError::NotFound)
    }

    /// Remembers the language an account signed in with (a BCP 47 tag of
    /// [`bazaar_domain::text::LANGUAGES`]): messages to it are written in that language.
    pub async fn remember_lang(&self, user_id: i64, lang: &str) -> Result<(), StoreError> {
        let Ok(Some(lang)) = bazaar_domain::text::parse_language("lang", lang) else {
            return Err(StoreError::field(
                "lang",
                bazaar_domain::Reason::UnknownChoice,
            ));
        };
        // Read first: a sign-in in the language already kept takes no write lock.
        let kept: Option<Option<String>> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT lang FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(p)
                .await?
        });
        if kept.flatten().as_deref() == Some(lang) {
            return Ok(());
        }
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE users SET lang = $1 WHERE id = $2 AND (lang IS NULL OR lang <> $1)",
            )
            .bind(lang)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// Checks a username and password and opens a session or API token.
    ///
    /// Throttled (see [`crate::people::throttle`]) on the account from this client
    /// (`client_key`: the address, as the trusted proxy reports it), on the client across
    /// accounts and on the account across clients, each attempt counted before the password
    /// is checked: after [`FREE_PER_ACCOUNT_AND_CLIENT`], [`FREE_PER_CLIENT`] and
    /// [`FREE_PER_ACCOUNT`] attempts each further one waits longer ([`StoreError::Throttled`]
    /// meanwhile), never a lockout: someone guessing from elsewhere does not shut the owner
    /// out. An unknown user costs the same hashing time as a known one.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_key: &str,
        kind: TokenKind,
    ) -> Result<(String, Actor), StoreError> {
        let now = now_ms();
        // The name as the lookup uses it: "VICTIM " is not `victim`.
        let name = username.trim();
        let client: String = client_key.chars().take(64).collect();
        let pair = format!("login:{name}|{client}");
        let by_client = format!("login-client:{client}");
        let by_account = format!("login-account:{name}");
        self.throttle_attempt(
            &[
                Limit::new(pair.clone(), FREE_PER_ACCOUNT_AND_CLIENT),
                Limit::new(by_client.clone(), FREE_PER_CLIENT),
                Limit::new(by_account.clone(), FREE_PER_ACCOUNT),
            ],
            now,
        )
        .await?;
        let row: Option<(i64, String)> = if name.len() <= 64 {
            on_read!(self, |p| {
                sqlx::query_as(
                    "SELECT id, password_hash FROM users WHERE username = $1 AND disabled = FALSE",
                )
                .bind(name)
                .fetch_optional(p)
                .await?
            })
        } else {
            None
        };
        // A fixed hash so an unknown user takes as long as a wrong password.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                             3E5tHFJj3uGqdQu4wDxLrKfZ5c3hzp0XjtJ8n0gDQ4s";
        let (id, hash) = row.clone().unwrap_or((0, DUMMY.to_string()));
        // Passwords are at most 128 characters (`check_new_password`); a longer one is
        // wrong, hashed all the same.
        let guess: String = password.chars().take(256).collect();
        let ok = verify_password(guess, hash).await && row.is_some() && password.len() <= 1024;
        if !ok {
            return Err(StoreError::BadCredentials);
        }
        self.throttle_success(&[&pair], &[&by_client, &by_account])
            .await?;
        let token = self.issue_token(id, kind).await?;
        Ok((token, self.actor(id).await?))
    }

    /// Issues a new token of `kind` for a user; returns the plain token (shown once).
    pub async fn issue_token(&self, user_id: i64, kind: TokenKind) -> Result<String, StoreError> {
        let token = new_secret();
        let hash = token_hash(&token);
        let now = now_ms();
        let ttl = match kind {
            TokenKind::Session => SESSION_TTL_MS,
            TokenKind::Api => API_TOKEN_TTL_MS,
        };
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO auth_tokens (token_hash, user_id, kind, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&hash)
            .bind(user_id)
            .bind(kind.as_str())
            .bind(now)
            .bind(now + ttl)
            .execute(&mut *c)
            .await?;
            Ok(())
        })?;
        Ok(token)
    }

    /// The user behind a token of `kind`, if it is valid (not expired, not revoked, account
    /// not disabled).
    pub async fn actor_by_token(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> Result<Option<Actor>, StoreError> {
        let sql = format!(
            "{ACTOR_SELECT} JOIN auth_tokens t ON t.user_id = u.id WHERE t.token_hash = $1 \
             AND t.kind = $2 AND t.revoked_at IS NULL AND t.expires_at > $3 AND u.disabled = FALSE"
        );
        let hash = token_hash(token);
        let row: Option<ActorRow> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(&hash)
                .bind(kind.as_str())
                .bind(now_ms())
                .fetch_optional(p)
                .await?
        });
        Ok(row.and_then(ActorRow::into_actor))
    }

    /// Revokes a token; revoking an unknown or revoked token is not an error.
    pub async fn revoke_token(&self, token: &str) -> Result<(), StoreError> {
        let hash = token_hash(token);
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE auth_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&hash)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify() {
        let h = hash_password("bazaar-demo".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("bazaar-demo".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
        assert_ne!(token_hash("a"), token_hash("b"));
        assert_eq!(new_secret().len(), 64);
    }
}
