//! `bangfu demo`: a realistic year of casework, loaded into the store through
//! the same path a client uses (JSON command bodies → parse → aggregate →
//! commit), then summarised from the views (the projector catches up first).
//!
//! The scenario is modelled on the seeds' Putian figures: money appropriated
//! into the special-assistance and festival funds; a migrant worker's
//! household from opening through visits, plan, paid grants and closure; a
//! mutual-aid plan period with five units (one sponsored for gig workers) and
//! claims accepted and rejected; a one-day-donation campaign with donations, a
//! reversal and allocations. It also shows the rules at work — four-eyes, one
//! open file per person, one claim per stay, money spent at most once — by
//! attempting what they forbid and printing the refusal.
//!
//! Each run is independent: ids are prefixed `demo-N-` and the people are new,
//! so `bangfu demo` can run again on the same store. Commands carry a simulated
//! 2026 timeline as their `recorded_at`, so the history reads like the year it
//! depicts and the run is reproducible.
//!
//! The scenario itself is data, not code: `demo/scenario.json` lists each
//! command as a client would send it (when, who in which role, which
//! aggregate, the JSON body) and, for the refusals, the error code the rule
//! answers with. This module runs it and prints the summary from the views.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::command::{Actor, CommandContext, Role};
use domain::donation::DonationCampaign;
use domain::i18n::{ErrorCode, Lang, Localize};
use domain::values::{Code, Fen, ResidentId};
use projections::views::household::HouseholdFileRow;
use serde_json::Value;
use uuid::Uuid;

use crate::app::engine::Engine;
use crate::app::{execute, AggregateKind, App, AppError, CaseAggregate};
use crate::cli::{ExitKind, Failure};

struct Run {
    n: u32,
    lang: Lang,
    correlation_id: Uuid,
}

impl Run {
    fn id(&self, suffix: &str) -> String {
        format!("demo-{}-{suffix}", self.n)
    }

    /// A valid, run-specific resident ID: region 350302 (莆田城厢区), a birth
    /// date and sequence that differ per run and per `i`.
    fn resident_id(&self, i: u32) -> String {
        let base = NaiveDate::from_ymd_opt(1962, 1, 1).unwrap_or_default();
        let born = base + Duration::days(i64::from(self.n % 20) * 997 + i64::from(i));
        let first17 = format!(
            "350302{}{:03}",
            born.format("%Y%m%d"),
            (self.n / 20 + i) % 1000
        );
        let check = ResidentId::check_char(first17.as_bytes()) as char;
        format!("{first17}{check}")
    }

    fn ctx(&self, actor: &str, role: Role, when: &str) -> Result<CommandContext, Failure> {
        let id = Code::parse(actor).map_err(|e| fail(self.lang, &e.localize(self.lang)))?;
        let recorded_at = at(when).ok_or_else(|| fail(self.lang, "bad scenario time"))?;
        Ok(CommandContext {
            actor: Actor { id, role },
            recorded_at,
            utc_offset_seconds: crate::app::clock::BusinessClock::default().offset_at(recorded_at),
            command_id: Uuid::now_v7(),
            correlation_id: self.correlation_id,
        })
    }
}

/// The scenario: sections of steps, each a command as a client would send
/// it. Placeholders in ids and bodies: `{run}` is this run's id prefix
/// (`demo-N`), a whole string `{resident:K}` the run's K-th resident ID.
const SCENARIO: &str = include_str!("demo/scenario.json");

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    sections: Vec<Section>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    title_zh: String,
    title_en: String,
    steps: Vec<Step>,
}

/// One command of the scenario. `refused`: the error code the rule it
/// demonstrates refuses it with; accepting it is a failure of the demo.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: String,
    actor: String,
    role: Role,
    kind: String,
    id: String,
    body: Value,
    #[serde(default)]
    refused: Option<String>,
}

impl Run {
    /// `value` with this run's placeholders filled in.
    fn fill(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.fill_str(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect())
            }
            other => other.clone(),
        }
    }

    fn fill_str(&self, s: &str) -> String {
        let resident = s
            .strip_prefix("{resident:")
            .and_then(|rest| rest.strip_suffix('}'))
            .and_then(|k| k.parse::<u32>().ok());
        match resident {
            Some(k) => self.resident_id(k),
            None => s.replace("{run}", &format!("demo-{}", self.n)),
        }
    }

    /// Runs one step: accepted, or refused with the code it expects.
    async fn run_step(
        &self,
        app: &App,
        step: &Step,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Failure> {
        let kind = <AggregateKind as clap::ValueEnum>::from_str(&step.kind, false)
            .map_err(|_| fail(self.lang, &format!("unknown kind `{}`", step.kind)))?;
        let id = self.fill_str(&step.id);
        let body = serde_json::to_vec(&self.fill(&step.body))
            .map_err(|e| fail(self.lang, &e.to_string()))?;
        let ctx = self.ctx(&step.actor, step.role, &step.at)?;
        let outcome = match kind {
            AggregateKind::HardshipFile => self.send(&app.files, &id, &body, ctx).await,
            AggregateKind::MutualAidPlan => self.send(&app.plans, &id, &body, ctx).await,
            AggregateKind::MutualAidClaim => self.send(&app.claims, &id, &body, ctx).await,
            AggregateKind::DonationCampaign => self.send(&app.campaigns, &id, &body, ctx).await,
            AggregateKind::FundAccount => self.send(&app.funds, &id, &body, ctx).await,
            AggregateKind::PayoutBatch => self.send(&app.batches, &id, &body, ctx).await,
            AggregateKind::AccountingPeriod => self.send(&app.periods, &id, &body, ctx).await,
        };
        self.judge(kind, &id, step.refused.as_deref(), outcome, out)
    }

    async fn send<A>(
        &self,
        engine: &Engine<A>,
        id: &str,
        body: &[u8],
        ctx: CommandContext,
    ) -> Result<(), (String, String)>
    where
        A: CaseAggregate,
        A::Error: ErrorCode,
    {
        let parsed: Result<A::Body, AppError> =
            crate::app::input::parse_json(body).map_err(AppError::from);
        let result = match parsed {
            Ok(body) => execute(engine, id, domain::command::Cmd { ctx, body })
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        result.map_err(|e| (e.code().to_string(), e.localize(self.lang)))
    }

    /// Accepted steps pass silently; a refusal the step expects is printed.
    fn judge(
        &self,
        kind: AggregateKind,
        id: &str,
        expected: Option<&str>,
        outcome: Result<(), (String, String)>,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Failure> {
        let lang = self.lang;
        match (expected, outcome) {
            (None, Ok(())) => Ok(()),
            (None, Err((code, message))) => Err(fail(
                lang,
                &format!("{} {id}: [{code}] {message}", kind.label(lang)),
            )),
            (Some(want), Err((code, message))) if code == want => {
                let label = lang.pick("按规则拒绝", "refused by rule");
                writeln!(out, "    ✗ {label} [{code}] {message}")
                    .map_err(|e| fail(lang, &e.to_string()))
            }
            (Some(want), Err((code, message))) => Err(fail(
                lang,
                &format!("expected {want}, got [{code}] {message}"),
            )),
            (Some(want), Ok(())) => {
                Err(fail(lang, &format!("expected {want}, but it was accepted")))
            }
        }
    }
}

/// `2026-03-02 09:30` (Beijing time) as a UTC instant.
fn at(when: &str) -> Option<DateTime<Utc>> {
    let local = chrono::NaiveDateTime::parse_from_str(when, "%Y-%m-%d %H:%M").ok()?;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600)?;
    beijing
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn fail(lang: Lang, message: &str) -> Failure {
    Failure {
        code: Some("demo.failed"),
        message: format!("{}: {message}", lang.pick("演示失败", "demo failed")),
        exit: ExitKind::Failure,
    }
}

/// Loads the scenario and prints its summary.
pub async fn run(app: &App, lang: Lang, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let scenario: Scenario =
        serde_json::from_str(SCENARIO).map_err(|e| fail(lang, &format!("scenario: {e}")))?;
    let existing = app
        .store
        .streams(<DonationCampaign as cqrs_es::Aggregate>::TYPE)
        .await
        .map_err(|e| fail(lang, &e.to_string()))?;
    let n = 1 + existing.iter().filter(|id| id.starts_with("demo-")).count() as u32;
    let run = Run {
        n,
        lang,
        correlation_id: Uuid::now_v7(),
    };
    let io = |e: std::io::Error| fail(lang, &e.to_string());
    let title = match lang {
        Lang::Zh => format!(
            "帮扶 bangfu 演示（第 {n} 轮，模拟 2026 年的案卷工作；数据库 {}）",
            app.store.path().display()
        ),
        Lang::En => format!(
            "bangfu demo (run {n}, a simulated year of 2026 casework; database {})",
            app.store.path().display()
        ),
    };
    writeln!(out, "{title}").map_err(io)?;
    for section in &scenario.sections {
        let heading = lang.pick(&section.title_zh, &section.title_en);
        writeln!(out, "\n▶ {heading}").map_err(io)?;
        for step in &section.steps {
            run.run_step(app, step, out).await?;
        }
    }
    summary(app, &run, out).await
}

async fn summary(app: &App, run: &Run, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let lang = run.lang;
    let io = |e: std::io::Error| fail(lang, &e.to_string());
    let load_err = |e: String| fail(lang, &e);
    // Everything below is read from the views, caught up to the last command
    // (on PostgreSQL that may mean waiting a moment for it to be readable).
    let last = app
        .store
        .last_event()
        .await
        .map_err(|e| load_err(e.to_string()))?
        .map_or(crate::store::LogPosition::START, |e| e.log_position);
    let position = app
        .projector
        .catch_up_to(last)
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let file: HouseholdFileRow = app
        .projector
        .get(&run.id("hf-chen"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("household file view missing".into()))?;
    let plan = crate::read::reports::plan_period_report(app, &run.id("mutual-07"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("plan-period view missing".into()))?;
    let campaign = crate::read::reports::campaign_report(app, &run.id("yirijuan-2026"))
        .await
        .map_err(|e| load_err(e.to_string()))?
        .ok_or_else(|| load_err("campaign view missing".into()))?
        .campaign;
    let funds = app
        .projector
        .funds()
        .await
        .map_err(|e| load_err(e.to_string()))?;

    let y = |f: Fen| f.to_yuan_grouped();
    writeln!(
        out,
        "\n══ {} ══",
        lang.pick("汇总（读自视图）", "Summary (read from the views)")
    )
    .map_err(io)?;

    // Household.
    let head = match lang {
        Lang::Zh => format!("{}（{}）", file.head.name, file.head.resident_id_masked),
        Lang::En => format!("{} ({})", file.head.name, file.head.resident_id_masked),
    };
    let status = match file.closure.as_ref().and_then(|c| c.reason.as_ref()) {
        Some(reason) => match lang {
            Lang::Zh => format!("{}（{}）", file.status.label(lang), reason.label(lang)),
            Lang::En => format!("{} ({})", file.status.label(lang), reason.label(lang)),
        },
        None => file.status.label(lang).to_string(),
    };
    let revision = file.plan.as_ref().map_or(0, |p| p.revision);
    match lang {
        Lang::Zh => writeln!(out, "困难职工档案 {}：户主 {head}，状态 {status}；入户走访 {} 次，计划第 {} 版，已发放 {} 元",
            file.file_id, file.visits.len(), revision, y(file.paid_total_fen())),
        Lang::En => writeln!(out, "Hardship file {}: head {head}, {status}; {} home visits, plan revision {}, {} yuan paid out",
            file.file_id, file.visits.len(), revision, y(file.paid_total_fen())),
    }.map_err(io)?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    table.set_header(match lang {
        Lang::Zh => [
            "措施",
            "类别",
            "资金来源",
            "计划",
            "已申请",
            "已批准",
            "已发放",
            "余额",
            "状态",
        ],
        Lang::En => [
            "measure",
            "kind",
            "fund",
            "planned",
            "requested",
            "approved",
            "paid",
            "remaining",
            "status",
        ],
    });
    for m in file.measures() {
        table.add_row(vec![
            m.measure_id.clone(),
            m.kind.label(lang).to_string(),
            m.fund.label(lang).to_string(),
            y(m.planned_fen),
            y(m.requested_fen),
            y(m.approved_fen),
            y(m.paid_fen),
            y(m.remaining_fen()),
            if m.completed {
                lang.pick("已完成", "completed")
            } else {
                lang.pick("进行中", "open")
            }
            .to_string(),
        ]);
    }
    for (i, col) in table.column_iter_mut().enumerate() {
        if (3..8).contains(&i) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    writeln!(out, "{table}").map_err(io)?;

    // Plan period and claims.
    let sep = lang.pick("、", ", ");
    let states: Vec<String> = plan
        .claims_by_state
        .iter()
        .filter(|s| s.claims > 0)
        .map(|s| format!("{} {}", s.status.label(lang), s.claims))
        .collect();
    let p = &plan.period;
    match lang {
        Lang::Zh => writeln!(out, "\n{}：政策版本 {}；参加单位 {} 家，参保职工 {} 人，收缴互助金 {} 元\n  补助申请：{}；已批准补助 {} 元，已发放 {} 元，本期结余 {} 元",
            p.name, p.policy.version, p.units, p.members, y(p.contributions_fen), states.join(sep), y(plan.subsidies_approved_fen), y(plan.subsidies_paid_fen), y(plan.period_net_fen)),
        Lang::En => writeln!(out, "\n{}: policy {}; {} units, {} members enrolled, {} yuan contributions\n  claims: {}; subsidies approved {} yuan, paid {} yuan, period net {} yuan",
            p.name, p.policy.version, p.units, p.members, y(p.contributions_fen), states.join(sep), y(plan.subsidies_approved_fen), y(plan.subsidies_paid_fen), y(plan.period_net_fen)),
    }.map_err(io)?;

    // Campaign.
    let c = &campaign;
    match lang {
        Lang::Zh => writeln!(out, "\n{}：到账 {} 元（冲销 {} 元），捐款 {} 人 / 应参与 {} 人，参与率 {}；已拨付 {} 元，可拨付 {} 元",
            c.name, y(c.net_received_fen()), y(c.reversed_fen), c.donors, c.headcount, c.participation(), y(c.allocated_fen()), y(c.unallocated_fen())),
        Lang::En => writeln!(out, "\n{}: {} yuan received net ({} reversed), {} donors of {} staff, participation {}; {} yuan allocated, {} available",
            c.name, y(c.net_received_fen()), y(c.reversed_fen), c.donors, c.headcount, c.participation(), y(c.allocated_fen()), y(c.unallocated_fen())),
    }.map_err(io)?;

    // Funds (all runs of the demo on this database together).
    writeln!(
        out,
        "\n{}",
        lang.pick(
            "资金余额（本数据库全部数据）",
            "Fund balances (everything in this database)"
        )
    )
    .map_err(io)?;
    writeln!(out, "{}", crate::cli::views::fund_table(&funds, lang)).map_err(io)?;

    // The log itself.
    let report = app
        .store
        .verify_chains()
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let events = app
        .store
        .count_events()
        .await
        .map_err(|e| load_err(e.to_string()))?;
    let chain = if report.is_ok() {
        lang.pick("哈希链完整", "hash chains intact")
    } else {
        lang.pick("哈希链断裂！", "HASH CHAINS BROKEN!")
    };
    match lang {
        Lang::Zh => writeln!(out, "\n事件日志：共 {events} 个事件，{} 个案卷流，{chain}；视图反映至位置 {position}。\n查看完整历史：bangfu history hardship-file {}\n查看视图：bangfu view household-file {}", report.streams, file.file_id, file.file_id),
        Lang::En => writeln!(out, "\nEvent log: {events} events in {} streams, {chain}; views reflect position {position}.\nFull history: bangfu --lang en history hardship-file {}\nThe view: bangfu --lang en view household-file {}", report.streams, file.file_id, file.file_id),
    }.map_err(io)?;
    if report.is_ok() {
        Ok(())
    } else {
        Err(fail(lang, chain))
    }
}
