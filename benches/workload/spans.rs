//! The command profile (`BANGFU_BENCH_SPANS=1`): a `tracing` layer that
//! times the `bf.*` spans of the service's command path (authentication,
//! body, parsing, the command's task, idempotency lookup/reserve/complete,
//! the engine's load, handle, serialisation and append, the response body)
//! inside each HTTP `request` span, and prints, per part, how often it ran,
//! its mean wall time and its mean busy time (polled on a CPU; the rest is
//! waiting: I/O, fsync, another thread or task). In-process commands have no
//! `request` span and are not counted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Per span name: count, wall, busy.
type Totals = BTreeMap<&'static str, (u64, Duration, Duration)>;

/// When the span started, how long it was entered, since when.
struct Timed {
    started: Instant,
    busy: Duration,
    entered: Option<Instant>,
}

#[derive(Clone, Default)]
pub struct Profile(Arc<Mutex<Totals>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Profile {
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let in_request = span.scope().any(|s| s.name() == "request");
        if in_request && (span.name() == "request" || span.name().starts_with("bf.")) {
            span.extensions_mut().insert(Timed {
                started: Instant::now(),
                busy: Duration::ZERO,
                entered: None,
            });
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(t) = span.extensions_mut().get_mut::<Timed>() {
                t.entered = Some(Instant::now());
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(t) = span.extensions_mut().get_mut::<Timed>() {
                if let Some(at) = t.entered.take() {
                    t.busy += at.elapsed();
                }
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(t) = extensions.get::<Timed>() else {
            return;
        };
        if let Ok(mut totals) = self.0.lock() {
            let entry = totals.entry(span.name()).or_default();
            entry.0 += 1;
            entry.1 += t.started.elapsed();
            entry.2 += t.busy;
        }
    }
}

impl Profile {
    /// Installs the layer as the process's subscriber, if
    /// `BANGFU_BENCH_SPANS` is set.
    pub fn install() -> Option<Profile> {
        std::env::var_os("BANGFU_BENCH_SPANS")?;
        let profile = Profile::default();
        let subscriber = tracing_subscriber::registry().with(profile.clone().with_filter(
            tracing_subscriber::filter::filter_fn(|meta| {
                meta.is_span() && (meta.name() == "request" || meta.name().starts_with("bf."))
            }),
        ));
        tracing::subscriber::set_global_default(subscriber).ok()?;
        Some(profile)
    }

    /// One line per part: count, mean wall and busy µs, share of a request.
    pub fn print(&self) {
        let Ok(totals) = self.0.lock() else { return };
        let mean = |(n, d): (u64, Duration)| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        let request = totals
            .get("request")
            .map_or(0.0, |&(n, wall, _)| mean((n, wall)));
        println!("\ncommand profile (spans inside HTTP requests; µs per occurrence)");
        for (name, &(n, wall, busy)) in totals.iter() {
            println!(
                "span {name}: {n} times, wall {:.1} µs, busy {:.1} µs, wall {:.1}% of a request",
                mean((n, wall)),
                mean((n, busy)),
                100.0 * mean((n, wall)) / request.max(f64::MIN_POSITIVE)
            );
        }
    }
}
