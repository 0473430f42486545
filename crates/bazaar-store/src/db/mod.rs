//! The dialect dispatch: `on_read!` and `in_tx!` run one piece of query code once per
//! backend, with the pool or the transaction's connection concretely typed; `both_dialects!`
//! implements an area's typed writes (a trait such as [`crate::orders::OrderWrites`]) once
//! for each backend's connection. An area's writes that other code repeats live in such a
//! trait, one method per change, taking a struct with named fields: a state change and its
//! history row are one call, and a guarded change that finds nothing to change is an error,
//! not a count to forget.

pub mod csvio;
pub mod find;
pub mod page;

/// Runs `$body` with `$p` bound to a read pool (`&SqlitePool` readers or `&PgPool`).
#[macro_export]
#[doc(hidden)]
macro_rules! on_read {
    ($store:expr, |$p:ident| $body:block) => {
        match $store.db() {
            $crate::Db::Sqlite { read, .. } => {
                let $p = read;
                $body
            }
            $crate::Db::Pg(pg) => {
                let $p = pg;
                $body
            }
        }
    };
}

/// Runs `$body` inside one transaction on the writer, with `$c` bound to the transaction's
/// connection (`&mut SqliteConnection` or `&mut PgConnection`). `$body` evaluates to
/// `Result<T, StoreError>`; the transaction commits on `Ok` and rolls back on `Err`.
#[macro_export]
#[doc(hidden)]
macro_rules! in_tx {
    ($store:expr, |$c:ident| $body:block) => {
        match $store.db() {
            $crate::Db::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                let r: Result<_, $crate::StoreError> = async {
                    let $c = &mut *tx;
                    $body
                }
                .await;
                match r {
                    Ok(v) => {
                        tx.commit().await?;
                        Ok(v)
                    }
                    Err(e) => Err(e),
                }
            }
            $crate::Db::Pg(pg) => {
                let mut tx = pg.begin().await?;
                let r: Result<_, $crate::StoreError> = async {
                    let $c = &mut *tx;
                    $body
                }
                .await;
                match r {
                    Ok(v) => {
                        tx.commit().await?;
                        Ok(v)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    };
}

/// Binds a list of [`crate::db::page::Param`] to a query, in order.
#[macro_export]
#[doc(hidden)]
macro_rules! bind_params {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params.iter() {
            q = match p {
                $crate::db::page::Param::I(v) => q.bind(*v),
                $crate::db::page::Param::S(s) => q.bind(s.clone()),
                $crate::db::page::Param::OS(s) => q.bind(s.clone()),
                $crate::db::page::Param::OI(v) => q.bind(*v),
                $crate::db::page::Param::OF(v) => q.bind(*v),
                $crate::db::page::Param::B(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Implements a trait of typed writes for both backends' connections
/// (`sqlx::SqliteConnection` and `sqlx::PgConnection`) from one body; inside, `self` is the
/// transaction's connection (`&mut *self` is its executor).
#[macro_export]
#[doc(hidden)]
macro_rules! both_dialects {
    (impl $tr:path { $($body:tt)* }) => {
        impl $tr for sqlx::SqliteConnection { $($body)* }
        impl $tr for sqlx::PgConnection { $($body)* }
    };
}
