//! bangfu's integration tests: one binary, one module per area, shared
//! helpers in `support`.

/// Runs each case on SQLite and on PostgreSQL (skipped loudly, or failing
/// under `CI`, when no PostgreSQL can be started: see `pg::fresh_database`):
/// `on_every_store!("area", worker_threads, sqlite_world_fn; case, …)`, with
/// `sqlite_world_fn()` and `postgres_world(name)` in the calling module.
macro_rules! on_every_store {
    ($area:literal, $workers:literal, $sqlite:ident; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $case() {
                    super::$case(super::$sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $case() {
                    let Some(w) = super::postgres_world(concat!(
                        $area,
                        "::postgres::",
                        stringify!($case)
                    ))
                    .await
                    else {
                        return;
                    };
                    super::$case(w).await;
                }
            )*
        }
    };
}

mod app;
mod audit_asof;
mod audit_export;
mod audit_http;
mod audit_seal;
mod backends;
mod bankfile;
mod bankfile_http;
mod bench_harness;
mod books;
mod books_files;
mod bounds;
mod cli;
mod concurrency;
mod conformance;
mod demo;
mod edge;
mod evolve;
mod finance;
mod http;
mod inputs;
mod money;
mod ops;
mod pg;
mod postgres;
mod projections;
mod readme;
mod store;
mod store_copy;
mod support;
mod view_files;
