//! The `userpath` phase (issue 16): the path users take, against the bare
//! framework, in one run.
//!
//! The workload shape: N households × 10 commands (open, 4 visits,
//! verify, adopt a plan, 3 grant requests), sent **step by step** — command k
//! of every household before command k+1 of any — so with N above the
//! engine's file cache (`FILE_CACHE_STREAMS`) every command finds its stream
//! evicted, as in production. Per client count (1, 8, 16) five sides, each on
//! its own copy of the populated store, all writing step k before any writes
//! step k+1:
//!
//! - `inprocess`: the engine, `app::execute` (as the write phase);
//! - `http`: `bangfu::http::run` on 127.0.0.1, keep-alive clients, no key;
//! - `http_idempotent`: the same with an `Idempotency-Key` on every command;
//! - `raw`: the raw read+insert baseline (plain sqlx, the rows the in-process
//!   side just wrote, one transaction per command);
//! - `framework`: plain cqrs-es 0.5 with sqlite-es / postgres-es 0.5 as their
//!   documentation shows (`sqlite_cqrs` / `postgres_cqrs`, no queries, the
//!   crates' own schema in a database of its own), driving the same domain
//!   aggregate (`HardshipFile`) with the same typed commands.
//!
//! Every HTTP side's streams are compared with the in-process side's, and
//! the framework's event count with the in-process side's: a difference
//! fails the phase. The engines' file-cache hit rate is reported per side.

use super::*;

use domain::hardship::HardshipFileCommand;

/// Client counts of the phase.
pub const USER_CLIENTS: [usize; 3] = [1, 8, 16];
/// Sides per client count, in the order each step runs them.
pub const USER_VARIANTS: [&str; 5] = ["inprocess", "raw", "http", "http_idempotent", "framework"];
/// Commands per household in this phase.
pub const USER_STEPS: usize = 10;

/// Indices, in [`Generator::household`]'s 14, of the 10: open, visits
/// 1–4, verify, adopt, the 3 grant requests (no 5th visit, no approvals).
const STEP_OF_HOUSEHOLD: [usize; USER_STEPS] = [0, 1, 2, 3, 4, 6, 7, 8, 10, 12];

/// Household `h`'s command number `step` (0-based) of the ten.
fn user_command(generator: &Generator, h: usize, step: usize) -> Command {
    let index = STEP_OF_HOUSEHOLD[step];
    generator
        .household(h)
        .into_iter()
        .nth(index)
        .unwrap_or_else(|| panic!("household has no command {index}"))
}

/// The engines' file-cache hits and misses during the phase, per side.
#[derive(Clone, Debug, Serialize)]
pub struct CacheUse {
    pub hits: u64,
    pub misses: u64,
    /// hits ÷ (hits + misses).
    pub hit_rate: f64,
    /// The cache's capacity (streams) and the households written.
    pub capacity: usize,
    pub households: usize,
}

/// One client of a side: sends one item and times it.
trait Client: Send + 'static {
    type Item: Send + 'static;
    fn send(
        &mut self,
        item: Self::Item,
    ) -> impl std::future::Future<Output = Result<Duration, String>> + Send;
}

#[derive(Clone)]
struct AppClient(Arc<App>);

impl Client for AppClient {
    type Item = Command;
    async fn send(&mut self, item: Command) -> Result<Duration, String> {
        let t = Instant::now();
        self.0.execute(item).await?;
        Ok(t.elapsed())
    }
}

struct HttpClient {
    connection: HttpConnection,
    credentials: Arc<BTreeMap<String, Credential>>,
    /// Each stream's version as the service last acknowledged it.
    versions: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
}

impl Client for HttpClient {
    type Item = HttpCommand;
    async fn send(&mut self, command: HttpCommand) -> Result<Duration, String> {
        let credential = self
            .credentials
            .get(&command.actor)
            .ok_or_else(|| format!("no user for actor {}", command.actor))?;
        let t = Instant::now();
        let (status, replayed, body) = self.connection.post(&command, credential).await?;
        let took = t.elapsed();
        let previous = self
            .versions
            .lock()
            .map_err(|e| e.to_string())?
            .get(&command.aggregate_id)
            .copied()
            .unwrap_or(0);
        let version = check_response(&command, status, replayed, &body, previous)?;
        self.versions
            .lock()
            .map_err(|e| e.to_string())?
            .insert(command.aggregate_id.clone(), version);
        Ok(took)
    }
}

/// cqrs-es with its SQLite or PostgreSQL repository, as documented.
#[derive(Clone)]
enum Framework {
    Sqlite(Arc<sqlite_es::SqliteCqrs<HardshipFile>>),
    Postgres(Arc<postgres_es::PostgresCqrs<HardshipFile>>),
}

impl Client for Framework {
    type Item = (String, Cmd<HardshipFileCommand>);
    async fn send(&mut self, (id, cmd): Self::Item) -> Result<Duration, String> {
        let t = Instant::now();
        match self {
            Framework::Sqlite(cqrs) => cqrs.execute(&id, cmd).await,
            Framework::Postgres(cqrs) => cqrs.execute(&id, cmd).await,
        }
        .map_err(|e| format!("framework {id}: {e}"))?;
        Ok(t.elapsed())
    }
}

/// What a framework user would write for the one lookup the aggregate asks
/// of its services: nothing found (no duplicate-household rule).
struct NoFileServices;

#[async_trait::async_trait]
impl domain::hardship::HardshipFileServices for NoFileServices {
    async fn open_file_for_resident(
        &self,
        _resident_id: &ResidentId,
    ) -> Result<Option<String>, domain::services::ServiceError> {
        Ok(None)
    }
}

/// Runs `items` on `clients` (each takes the next item from a shared queue)
/// and gives the clients back with the samples.
async fn run_step<C: Client>(
    clients: Vec<C>,
    items: Vec<C::Item>,
) -> Result<(Samples, Vec<C>), String> {
    let queue = Arc::new(std::sync::Mutex::new(items.into_iter()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut client in clients {
        let queue = Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let next = queue.lock().map_err(|e| e.to_string())?.next();
                let Some(item) = next else { break };
                latencies.push(client.send(item).await?);
            }
            Ok::<_, String>((latencies, client))
        }));
    }
    let (mut latencies, mut clients) = (Vec::new(), Vec::new());
    for task in tasks {
        let (mine, client) = task.await.map_err(|e| e.to_string())??;
        latencies.extend(mine);
        clients.push(client);
    }
    let wall = started.elapsed();
    Ok((Samples { latencies, wall }, clients))
}

/// A pool on a copy for the raw baseline.
enum RawPool {
    Sqlite(SqlitePool),
    Postgres(sqlx::PgPool),
}

enum Kind {
    /// The engine on a copy at `path` (the raw side inserts the rows it wrote).
    InProcess {
        app: Arc<App>,
        path: PathBuf,
    },
    Http {
        app: Arc<App>,
        service: Option<HttpService>,
        clients: Vec<HttpClient>,
        idempotent: bool,
    },
    Raw(RawPool),
    Framework(Framework, RawPool),
}

struct Side {
    variant: &'static str,
    clients: usize,
    kind: Kind,
    samples: Samples,
    commands: usize,
    cache_before: bangfu::app::engine::CacheStats,
    events_before: u64,
}

impl Side {
    fn app(&self) -> Option<&Arc<App>> {
        match &self.kind {
            Kind::InProcess { app, .. } | Kind::Http { app, .. } => Some(app),
            _ => None,
        }
    }
}

/// The log position the next command's rows come after.
async fn head(app: &App) -> Result<i64, String> {
    match app.store.as_postgres() {
        Some(pg) => pg_max_position(pg.pool()).await,
        None => Ok(app.store.count_events().await.map_err(|e| e.to_string())? as i64),
    }
}

/// The rows `app`'s store gained after `after`, grouped by command.
async fn rows_after(app: &App, path: &Path, after: i64) -> Result<Vec<RowSet>, String> {
    match app.store.as_postgres() {
        Some(pg) => pg_rows_by_command(pg.pool(), after).await,
        None => rows_by_command(path, after).await,
    }
}

async fn count_rows(pool: &RawPool) -> Result<u64, String> {
    let n: i64 = match pool {
        RawPool::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(p)
            .await
            .map_err(|e| e.to_string())?,
        RawPool::Postgres(p) => pg_count(p).await?,
    };
    Ok(n as u64)
}

/// sqlite-es's and postgres-es's own schema (their `init.sql`, events and
/// snapshots tables; no view table: no queries run).
const FRAMEWORK_SCHEMA: [&str; 2] = [
    "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
        sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
        event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
        PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
        last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
        current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
        payload json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
];

impl HttpStores<'_> {
    /// A copy of the populated store for the raw baseline, and its pool
    /// (`clients` connections, no pre-use ping, the store's durability).
    async fn raw_copy(
        &self,
        dir: &Path,
        name: &str,
        clients: usize,
        copies: &mut Vec<SideCopy>,
    ) -> Result<RawPool, String> {
        match self {
            HttpStores::Sqlite { populated } => {
                let path = db_path(dir, name);
                remove_db(&path);
                copies.push(SideCopy::File(path.clone()));
                copy_db(populated, &path)?;
                Ok(RawPool::Sqlite(sqlite_pool(&path, clients as u32).await?))
            }
            HttpStores::Postgres {
                server,
                populated,
                db,
            } => {
                let copy = db(&format!("http_{name}"));
                copies.push(SideCopy::Database(copy.clone(), db_path(dir, name)));
                pg_copy(server, populated, &copy).await?;
                Ok(RawPool::Postgres(
                    pg_pool(server, &copy, clients as u32, false).await?,
                ))
            }
        }
    }

    /// A fresh database with the framework's schema, and cqrs-es over it.
    /// PostgreSQL: `default_postgress_pool`'s settings (10 connections, sqlx's
    /// defaults). SQLite: `default_sqlite_pool`'s (WAL, 10 connections) but
    /// `synchronous=FULL` as bangfu's store (the crate's default is NORMAL,
    /// which loses committed commands on power failure).
    async fn framework(
        &self,
        dir: &Path,
        name: &str,
        copies: &mut Vec<SideCopy>,
    ) -> Result<(Framework, RawPool), String> {
        let services =
            || Arc::new(NoFileServices) as Arc<dyn domain::hardship::HardshipFileServices>;
        match self {
            HttpStores::Sqlite { .. } => {
                let path = db_path(dir, name);
                remove_db(&path);
                copies.push(SideCopy::File(path.clone()));
                std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(|e| e.to_string())?;
                let options = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(10)
                    .connect_with(options)
                    .await
                    .map_err(|e| e.to_string())?;
                for sql in FRAMEWORK_SCHEMA {
                    sqlx::query(sql)
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let cqrs = sqlite_es::sqlite_cqrs(pool.clone(), vec![], services());
                Ok((Framework::Sqlite(Arc::new(cqrs)), RawPool::Sqlite(pool)))
            }
            HttpStores::Postgres { server, db, .. } => {
                let copy = db(&format!("http_{name}"));
                copies.push(SideCopy::Database(copy.clone(), db_path(dir, name)));
                pg_drop(server, &copy).await?;
                pg_admin(server, &format!("CREATE DATABASE \"{copy}\"")).await?;
                let pool = pg_pool(server, &copy, 10, true).await?;
                for sql in FRAMEWORK_SCHEMA {
                    sqlx::query(sql)
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let cqrs = postgres_es::postgres_cqrs(pool.clone(), vec![], services());
                Ok((Framework::Postgres(Arc::new(cqrs)), RawPool::Postgres(pool)))
            }
        }
    }
}

/// A pool on database `name`: `connections`, with or without sqlx's pre-use ping.
async fn pg_pool(
    server: &PgServer,
    name: &str,
    connections: u32,
    ping: bool,
) -> Result<sqlx::PgPool, String> {
    let options: sqlx::postgres::PgConnectOptions = (server.url_of)(name)
        .parse()
        .map_err(|e: sqlx::Error| e.to_string())?;
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(ping)
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())
}

/// Opens side `variant` at `clients` on a fresh copy (or database).
async fn open_side(
    stores: &HttpStores<'_>,
    dir: &Path,
    variant: &'static str,
    clients: usize,
    actors: &BTreeMap<String, Vec<Role>>,
    copies: &mut Vec<SideCopy>,
) -> Result<Side, String> {
    let name = format!("user_{variant}{clients}");
    let kind = match variant {
        "inprocess" => {
            let (app, path) = stores.copy(dir, &name, copies).await?;
            Kind::InProcess { app, path }
        }
        "http" | "http_idempotent" => {
            let (app, users_file) = stores.copy(dir, &name, copies).await?;
            let users = bangfu::access::users::Users::open(&users_file)
                .await
                .map_err(|e| e.to_string())?;
            let service = HttpService::start(Arc::clone(&app), users, actors).await?;
            let versions = Arc::default();
            let mut connections = Vec::with_capacity(clients);
            for _ in 0..clients {
                connections.push(HttpClient {
                    connection: HttpConnection::open(service.addr).await?,
                    credentials: Arc::clone(&service.credentials),
                    versions: Arc::clone(&versions),
                });
            }
            Kind::Http {
                app,
                service: Some(service),
                clients: connections,
                idempotent: variant == "http_idempotent",
            }
        }
        "raw" => Kind::Raw(stores.raw_copy(dir, &name, clients, copies).await?),
        "framework" => {
            let (framework, pool) = stores.framework(dir, &name, copies).await?;
            Kind::Framework(framework, pool)
        }
        other => return Err(format!("unknown userpath variant {other}")),
    };
    let mut side = Side {
        variant,
        clients,
        kind,
        samples: Samples::default(),
        commands: 0,
        cache_before: Default::default(),
        events_before: 0,
    };
    if let Some(app) = side.app() {
        let (cache, events) = (
            app.files.cache_stats(),
            app.store.count_events().await.map_err(|e| e.to_string())?,
        );
        side.cache_before = cache;
        side.events_before = events;
    }
    Ok(side)
}

/// Step `step` of every household in `households` on `side`. The in-process
/// side leaves the rows it wrote in `rows`; the raw side (next in order)
/// inserts them.
async fn step_side(
    side: &mut Side,
    generator: &Generator,
    households: &[usize],
    step: usize,
    rows: &mut Vec<RowSet>,
) -> Result<(), String> {
    let commands = || households.iter().map(|&h| user_command(generator, h, step));
    let n = side.clients;
    let samples = match &mut side.kind {
        Kind::InProcess { app, path } => {
            let before = head(app).await?;
            let items: Vec<Command> = commands().collect();
            let (samples, _) = run_step(vec![AppClient(Arc::clone(app)); n], items).await?;
            *rows = rows_after(app, path, before).await?;
            samples
        }
        Kind::Raw(pool) => {
            let sets = std::mem::take(rows);
            if sets.len() != households.len() {
                return Err(format!(
                    "raw {n}: {} commands' rows from in-process, {} commands sent",
                    sets.len(),
                    households.len()
                ));
            }
            match pool {
                RawPool::Sqlite(p) => baseline(p, sets, n).await?,
                RawPool::Postgres(p) => pg_baseline(p, sets, n).await?,
            }
        }
        Kind::Http {
            clients,
            idempotent,
            ..
        } => {
            let items = commands()
                .map(|c| HttpCommand::of(&c, *idempotent))
                .collect::<Result<Vec<_>, _>>()?;
            let (samples, back) = run_step(std::mem::take(clients), items).await?;
            *clients = back;
            samples
        }
        Kind::Framework(framework, _) => {
            let items = commands()
                .map(|c| match c {
                    Command::File(id, cmd) => Ok((id, cmd)),
                    _ => Err("the userpath phase sends hardship-file commands".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            run_step(vec![framework.clone(); n], items).await?.0
        }
    };
    side.samples.add(samples);
    side.commands += households.len();
    Ok(())
}

/// What [`userpath_phase`] returns: figures, ratios, checks, cache use.
pub type UserPath = (
    BTreeMap<String, Throughput>,
    BTreeMap<String, f64>,
    BTreeMap<String, HttpCheck>,
    BTreeMap<String, CacheUse>,
);

/// Stops the services and collects every side's figures, cache use and
/// events written (`{variant}.clients_{n}`).
async fn collect(sides: &mut [Side], households: usize) -> Result<UserPath, String> {
    let mut out: UserPath = Default::default();
    for side in sides.iter_mut() {
        let key = format!("{}.clients_{}", side.variant, side.clients);
        if let Kind::Http {
            service, clients, ..
        } = &mut side.kind
        {
            clients.clear();
            if let Some(service) = service.take() {
                service.stop().await?;
            }
        }
        if let Some(app) = side.app() {
            let now = app.files.cache_stats();
            let (hits, misses) = (
                now.hits - side.cache_before.hits,
                now.misses - side.cache_before.misses,
            );
            out.3.insert(
                key.clone(),
                CacheUse {
                    hits,
                    misses,
                    hit_rate: hits as f64 / (hits + misses).max(1) as f64,
                    capacity: bangfu::app::FILE_CACHE_STREAMS,
                    households,
                },
            );
        }
        let samples = std::mem::take(&mut side.samples);
        out.0.insert(key, samples.throughput(side.clients));
    }
    Ok(out)
}

/// Events `side` wrote during the phase.
async fn written(side: &Side) -> Result<u64, String> {
    match (&side.kind, side.app()) {
        (_, Some(app)) => {
            Ok(app.store.count_events().await.map_err(|e| e.to_string())? - side.events_before)
        }
        (Kind::Raw(pool) | Kind::Framework(_, pool), None) => count_rows(pool).await,
        _ => Ok(0),
    }
}

/// Every HTTP side holds the same file streams as the in-process side at its
/// client count, and the framework wrote as many events: else an error.
async fn check(
    sides: &[Side],
    generator: &Generator,
    households: &[usize],
    checks: &mut BTreeMap<String, HttpCheck>,
) -> Result<(), String> {
    let kind = <HardshipFile as cqrs_es::Aggregate>::TYPE;
    for side in sides
        .iter()
        .filter(|s| matches!(s.variant, "http" | "http_idempotent" | "framework"))
    {
        let Some(reference) = sides
            .iter()
            .find(|s| s.variant == "inprocess" && s.clients == side.clients)
        else {
            return Err(format!(
                "userpath: no in-process side at {} client(s)",
                side.clients
            ));
        };
        let (events, reference_events) = (written(side).await?, written(reference).await?);
        let what = format!("userpath {} {} client(s)", side.variant, side.clients);
        if events != reference_events || events < side.commands as u64 {
            return Err(format!(
                "{what} wrote {events} events, in-process {reference_events}"
            ));
        }
        // The HTTP sides' streams, event by event (the framework's store
        // has another schema: its count is what is compared).
        if let (Some(app), Some(reference_app)) = (side.app(), reference.app()) {
            for &h in households {
                let id = generator.file_id(h);
                if stream_events(app, kind, &id).await?
                    != stream_events(reference_app, kind, &id).await?
                {
                    return Err(format!("{what}: {id} holds other events than in-process"));
                }
            }
        }
        checks.insert(
            format!("userpath.{}.clients_{}", side.variant, side.clients),
            HttpCheck {
                commands: side.commands,
                acknowledged: side.commands,
                events_written: events,
                inprocess_events_written: reference_events,
                // Event by event for HTTP; the framework: same count only.
                same_events_as_inprocess: side.app().is_some(),
            },
        );
    }
    Ok(())
}

/// The ratios the targets are about, from this run's figures.
fn user_ratios(figures: &BTreeMap<String, Throughput>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let get = |v: &str, c: usize| figures.get(&format!("{v}.clients_{c}"));
    for c in USER_CLIENTS {
        for v in USER_VARIANTS {
            for reference in ["framework", "raw", "inprocess"] {
                if v == reference {
                    continue;
                }
                let name = format!("{v}_over_{reference}");
                ratio(
                    &mut out,
                    &format!("{name}.rate.clients_{c}"),
                    get(v, c).map(|t| t.per_second),
                    get(reference, c).map(|t| t.per_second),
                );
                ratio(
                    &mut out,
                    &format!("{name}.p50.clients_{c}"),
                    get(v, c).map(|t| t.latency_ms_p50),
                    get(reference, c).map(|t| t.latency_ms_p50),
                );
            }
            if c > 1 {
                ratio(
                    &mut out,
                    &format!("{v}_{c}_over_{v}_1.rate"),
                    get(v, c).map(|t| t.per_second),
                    get(v, 1).map(|t| t.per_second),
                );
            }
        }
        ratio(
            &mut out,
            &format!("http_idempotent_over_http.rate.clients_{c}"),
            get("http_idempotent", c).map(|t| t.per_second),
            get("http", c).map(|t| t.per_second),
        );
        ratio(
            &mut out,
            &format!("http_idempotent_over_http.p50.clients_{c}"),
            get("http_idempotent", c).map(|t| t.latency_ms_p50),
            get("http", c).map(|t| t.latency_ms_p50),
        );
    }
    out
}

/// The userpath phase on `stores`: the households `measured`, the sides
/// `wanted` accepts (named `user_{variant}{clients}`: `user_http_idempotent8`,
/// …; `raw`, `http*` and `framework` need `inprocess` at their client
/// count), step by step. Keys are `userpath.{variant}.clients_{n}` (ratios
/// `userpath.{a}_over_{b}.rate.clients_{n}`, …), prefixed `postgres.` there.
pub async fn userpath_phase(
    stores: HttpStores<'_>,
    dir: &Path,
    generator: &Generator,
    measured: std::ops::Range<usize>,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<UserPath, String> {
    let households: Vec<usize> = measured.collect();
    let requests: Vec<Vec<HttpCommand>> = households
        .iter()
        .map(|&h| {
            (0..USER_STEPS)
                .map(|k| HttpCommand::of(&user_command(generator, h, k), false))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let actors = actors_of(&requests);
    let (mut sides, mut copies) = (Vec::new(), Vec::new());
    let mut result = Ok(());
    'open: for clients in USER_CLIENTS {
        for variant in USER_VARIANTS {
            if !wanted(&format!("user_{variant}{clients}"))
                || (variant != "inprocess" && !wanted(&format!("user_inprocess{clients}")))
            {
                continue;
            }
            match open_side(&stores, dir, variant, clients, &actors, &mut copies).await {
                Ok(side) => sides.push(side),
                Err(e) => {
                    result = Err(e);
                    break 'open;
                }
            }
        }
    }
    let mut out: Result<UserPath, String> = Err(String::new());
    if result.is_ok() {
        out = async {
            for step in 0..USER_STEPS {
                let mut rows = Vec::new();
                for side in sides.iter_mut() {
                    step_side(side, generator, &households, step, &mut rows)
                        .await
                        .map_err(|e| format!("userpath {} {}: {e}", side.variant, side.clients))?;
                }
            }
            let mut out = collect(&mut sides, households.len()).await?;
            check(&sides, generator, &households, &mut out.2).await?;
            out.1 = user_ratios(&out.0);
            Ok(out)
        }
        .await;
    }
    for side in &mut sides {
        if let Kind::Http {
            service, clients, ..
        } = &mut side.kind
        {
            clients.clear();
            if let Some(service) = service.take() {
                let _ = service.stop().await;
            }
        }
        match &side.kind {
            Kind::InProcess { app, .. } | Kind::Http { app, .. } => app.store.close().await,
            Kind::Raw(RawPool::Sqlite(p)) | Kind::Framework(_, RawPool::Sqlite(p)) => {
                p.close().await
            }
            Kind::Raw(RawPool::Postgres(p)) | Kind::Framework(_, RawPool::Postgres(p)) => {
                p.close().await
            }
        }
    }
    drop(sides);
    for copy in copies {
        stores.remove(copy).await?;
    }
    result?;
    let (figures, ratios, checks, cache) = out?;
    let key = |k: String| stores.key(format!("userpath.{k}"));
    Ok((
        figures.into_iter().map(|(k, v)| (key(k), v)).collect(),
        ratios.into_iter().map(|(k, v)| (key(k), v)).collect(),
        checks
            .into_iter()
            .map(|(k, v)| (stores.key(k), v))
            .collect(),
        cache.into_iter().map(|(k, v)| (key(k), v)).collect(),
    ))
}
