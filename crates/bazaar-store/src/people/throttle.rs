//! Throttles of guessable secrets: passwords at sign-in, pickup codes at the hand-over.
//!
//! An attempt is counted *before* the secret is checked, by one `UPDATE … WHERE
//! blocked_until <= now RETURNING attempts` per key inside one transaction: two parallel
//! attempts cannot both read a count below the limit (PostgreSQL re-checks the condition on
//! the row the other one just changed; SQLite has one writer). Keys are locked in sorted
//! order, so two attempts never wait on each other's rows in opposite orders.
//!
//! There is no hard lockout: once a key's free attempts are used each attempt makes the next
//! one wait longer (1 s, 2 s, 4 s … up to 15 minutes), and an hour without attempts forgets
//! them. A success clears the key of the account and client and gives back the attempt it
//! counted on the wider keys.

use crate::{Store, StoreError, in_tx};

/// Attempts a key forgets after this long without one.
pub const QUIET_MS: i64 = 60 * 60 * 1000;
/// The longest wait between two attempts on one key.
pub const MAX_DELAY_MS: i64 = 15 * 60 * 1000;

/// One throttled key and the attempts it allows before delays begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// What is counted, e.g. `login:asim|203.0.113.7`.
    pub key: String,
    /// Attempts without delay.
    pub free: i64,
}

impl Limit {
    /// A key with `free` attempts before delays begin.
    pub fn new(key: impl Into<String>, free: i64) -> Limit {
        Limit {
            key: key.into(),
            free,
        }
    }
}

/// The wait after the `attempts`-th attempt on a key with `free` attempts, ms: none before
/// the last free one; after it 1 s, then doubling up to [`MAX_DELAY_MS`].
pub fn delay_after(attempts: i64, free: i64) -> i64 {
    if attempts < free {
        return 0;
    }
    let doublings = (attempts - free).clamp(0, 20) as u32;
    (1000_i64 << doublings).min(MAX_DELAY_MS)
}

impl Store {
    /// Counts one attempt against every key of `limits`, atomically with the check: either
    /// every key may be tried now and each counts the attempt, or none counts it and the
    /// answer is [`StoreError::Throttled`] with the seconds to wait.
    pub async fn throttle_attempt(&self, limits: &[Limit], now: i64) -> Result<(), StoreError> {
        let mut limits: Vec<&Limit> = limits.iter().collect();
        limits.sort_by(|a, b| a.key.cmp(&b.key));
        limits.dedup_by(|a, b| a.key == b.key);
        in_tx!(self, |c| {
            for l in &limits {
                sqlx::query(
                    "INSERT INTO throttles (key, attempts, last_at, blocked_until) \
                     VALUES ($1, 0, $2, 0) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&l.key)
                .bind(now)
                .execute(&mut *c)
                .await?;
                let n: Option<i64> = sqlx::query_scalar(
                    "UPDATE throttles SET attempts = CASE WHEN last_at < $1 THEN 1 \
                     ELSE attempts + 1 END, last_at = $2 \
                     WHERE key = $3 AND blocked_until <= $2 RETURNING attempts",
                )
                .bind(now - QUIET_MS)
                .bind(now)
                .bind(&l.key)
                .fetch_optional(&mut *c)
                .await?;
                let Some(n) = n else {
                    let until: i64 =
                        sqlx::query_scalar("SELECT blocked_until FROM throttles WHERE key = $1")
                            .bind(&l.key)
                            .fetch_one(&mut *c)
                            .await?;
                    // Seconds, rounded up: a client that waits that long is let through.
                    return Err(StoreError::Throttled((until - now + 999).max(1000) / 1000));
                };
                let wait = delay_after(n, l.free);
                if wait > 0 {
                    sqlx::query("UPDATE throttles SET blocked_until = $1 WHERE key = $2")
                        .bind(now + wait)
                        .bind(&l.key)
                        .execute(&mut *c)
                        .await?;
                }
            }
            // Keys quiet for twice the memory are gone for good.
            sqlx::query("DELETE FROM throttles WHERE last_at < $1")
                .bind(now - 2 * QUIET_MS)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    }

    /// After a success: forgets the attempts on `clear` and gives back the one attempt
    /// counted on each of `refund` (a right password from a shared address does not bring
    /// its neighbours closer to a delay).
    pub async fn throttle_success(
        &self,
        clear: &[&str],
        refund: &[&str],
    ) -> Result<(), StoreError> {
        let mut keys: Vec<(&str, bool)> = clear
            .iter()
            .map(|k| (*k, true))
            .chain(refund.iter().map(|k| (*k, false)))
            .collect();
        keys.sort();
        in_tx!(self, |c| {
            for (k, clear) in &keys {
                let sql = if *clear {
                    "DELETE FROM throttles WHERE key = $1"
                } else {
                    "UPDATE throttles SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0"
                };
                sqlx::query(sql).bind(*k).execute(&mut *c).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(delay_after(1, 5), 0);
        assert_eq!(delay_after(4, 5), 0);
        assert_eq!(delay_after(5, 5), 1000);
        assert_eq!(delay_after(6, 5), 2000);
        assert_eq!(delay_after(8, 5), 8000);
        assert_eq!(delay_after(40, 5), MAX_DELAY_MS);
        assert_eq!(delay_after(i64::MAX, 5), MAX_DELAY_MS);
    }
}
