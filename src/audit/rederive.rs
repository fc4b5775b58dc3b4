//! Re-derivation: every claim subsidy recomputed from the facts and the
//! policy its assessment recorded, and every payout checked — it traces to
//! an approved obligation of the same amount and fund, approved by someone
//! other than whoever requested (or assessed) it, within its measure's
//! planned amount, from a fund that had the money (the fund balances folded
//! in log order with the projections crate's own code). `bangfu audit
//! rederive`, `GET /v1/audit/rederive`: a report of each discrepancy, empty
//! on an honest store (exit 0), else exit 9 ([`crate::cli::ExitKind`]).
//!
//! `bangfu audit what-if` re-assesses a period's claims under another
//! policy, from the facts each latest assessment recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;

use cqrs_es::Aggregate;
use domain::donation::{DonationCampaign, DonationCampaignEvent};
use domain::fund::Fund;
use domain::hardship::{HardshipFile, HardshipFileEvent};
use domain::i18n::Lang;
use domain::mutual_aid::policy::{assess, Policy};
use domain::mutual_aid::{MutualAidClaim, MutualAidClaimEvent, MutualAidPlan, MutualAidPlanEvent};
use domain::values::Fen;
use projections::rows::{fund_code, Row, RowKey, RowSet, ViewRow};
use projections::views::funds::FundBalanceRow;
use projections::{decode, Recorded, ViewName};
use serde::{Deserialize, Serialize};

use crate::store::{AnyStore, LogPosition, StoredEvent};

/// One discrepancy (or, in the segregation-of-duties report, one breach).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// Stable code: `rederive.self_approved`, `sod.incompatible_duties`, …
    pub code: String,
    /// The stream's aggregate type.
    pub aggregate_type: String,
    /// The stream.
    pub aggregate_id: String,
    /// The event's sequence in the stream, when one event is at fault.
    pub sequence: Option<u64>,
    /// What is wrong, for people.
    pub message: String,
}

impl Finding {
    /// A finding about `e`.
    pub fn at(e: &StoredEvent, code: &str, lang: Lang, zh: String, en: String) -> Finding {
        Finding {
            code: code.to_string(),
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            sequence: Some(e.sequence as u64),
            message: if lang == Lang::Zh { zh } else { en },
        }
    }
}

/// What `rederive` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RederiveReport {
    /// Claim assessments recomputed.
    pub assessments: u64,
    /// Payments checked (grants, claim subsidies) and allocations approved.
    pub payouts: u64,
    /// Events read in log order for the fund balances.
    pub events: u64,
    /// Every discrepancy, stream by stream, then the funds in log order.
    pub findings: Vec<Finding>,
}

impl RederiveReport {
    /// True when nothing was found.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

fn y(f: Fen) -> String {
    f.to_yuan_grouped()
}

/// Reads one stored event of `A`, or a finding saying it cannot be read.
fn typed<A: Aggregate>(e: &StoredEvent, lang: Lang) -> Result<A::Event, Finding> {
    crate::app::engine::read_event::<A>(&e.event_type, &e.event_version, &e.payload).ok_or_else(
        || {
            Finding::at(
                e,
                "rederive.unreadable",
                lang,
                format!("事件 {} 无法读取", e.event_type),
                format!("event {} cannot be read", e.event_type),
            )
        },
    )
}

/// Every stream of `A` with its events, one stream at a time.
async fn each_stream<A: Aggregate>(
    store: &AnyStore,
    mut each: impl FnMut(&[StoredEvent]),
) -> Result<(), String> {
    for id in store.streams(A::TYPE).await.map_err(|e| e.to_string())? {
        let events = store
            .history(A::TYPE, &id)
            .await
            .map_err(|e| e.to_string())?;
        each(&events);
    }
    Ok(())
}

/// Runs every check over the whole store.
pub async fn rederive(store: &AnyStore, lang: Lang) -> Result<RederiveReport, String> {
    let mut report = RederiveReport::default();
    let mut policies: HashMap<String, Policy> = HashMap::new();
    each_stream::<MutualAidPlan>(store, |events| {
        for e in events {
            if let Some(MutualAidPlanEvent::PeriodOpened { policy, .. }) =
                crate::app::engine::read_event::<MutualAidPlan>(
                    &e.event_type,
                    &e.event_version,
                    &e.payload,
                )
            {
                policies.insert(e.aggregate_id.clone(), policy);
            }
        }
    })
    .await?;
    each_stream::<HardshipFile>(store, |events| check_file(events, lang, &mut report)).await?;
    each_stream::<MutualAidClaim>(store, |events| {
        check_claim(events, &policies, lang, &mut report)
    })
    .await?;
    each_stream::<DonationCampaign>(store, |events| check_campaign(events, lang, &mut report))
        .await?;
    check_funds(store, lang, &mut report).await?;
    Ok(report)
}

/// A grant as its file recorded it.
struct Grant {
    requested_by: String,
    amount: Fen,
    fund: Fund,
    approved: Option<(Fen, Fund)>,
    paid: bool,
}

/// A hardship file's grants: approved by another person than the requester,
/// for the amount and fund requested, within the measure's planned amount;
/// paid once, after approval, for the approved amount from its fund.
fn check_file(events: &[StoredEvent], lang: Lang, report: &mut RederiveReport) {
    let mut ledger = FileLedger::default();
    for e in events {
        let ev = match typed::<HardshipFile>(e, lang) {
            Ok(ev) => ev,
            Err(f) => {
                report.findings.push(f);
                continue;
            }
        };
        let mut find = |code: &str, zh: String, en: String| {
            report.findings.push(Finding::at(e, code, lang, zh, en));
        };
        match ev {
            HardshipFileEvent::PlanAdopted { measures, .. }
            | HardshipFileEvent::PlanRevised { measures, .. } => {
                for m in measures {
                    ledger
                        .planned
                        .insert(m.measure_id.to_string(), m.planned_amount_fen);
                }
            }
            HardshipFileEvent::GrantRequested {
                grant_id,
                amount_fen,
                fund,
                requested_by,
                ..
            } => {
                let grant = Grant {
                    requested_by: requested_by.to_string(),
                    amount: amount_fen,
                    fund,
                    approved: None,
                    paid: false,
                };
                ledger.grants.insert(grant_id.to_string(), grant);
            }
            HardshipFileEvent::GrantApproved {
                grant_id,
                measure_id,
                amount_fen,
                fund,
                approved_by,
                ..
            } => {
                let approval = Approval {
                    grant_id: grant_id.as_str(),
                    measure_id: measure_id.as_str(),
                    amount: amount_fen,
                    fund,
                    by: approved_by.as_str(),
                };
                grant_approved(&mut ledger, &approval, &mut find);
            }
            HardshipFileEvent::GrantDeclined { .. } => {}
            HardshipFileEvent::GrantPaid {
                grant_id,
                amount_fen,
                fund,
                ..
            } => {
                report.payouts += 1;
                let g = ledger.grants.get_mut(grant_id.as_str());
                check_payment(
                    g.map(|g| (&mut g.paid, g.approved)),
                    grant_id.as_str(),
                    amount_fen,
                    fund,
                    &mut find,
                );
            }
            _ => {}
        }
    }
}

/// A hardship file's measures and grants so far.
#[derive(Default)]
struct FileLedger {
    /// Each measure's planned amount (latest plan revision).
    planned: HashMap<String, Fen>,
    /// Each measure's approved total.
    approved: HashMap<String, Fen>,
    /// Each grant.
    grants: HashMap<String, Grant>,
}

/// One `GrantApproved`, as recorded.
struct Approval<'a> {
    grant_id: &'a str,
    measure_id: &'a str,
    amount: Fen,
    fund: Fund,
    by: &'a str,
}

/// A grant's approval: by someone other than the requester, as requested,
/// within the measure's planned amount.
fn grant_approved(
    ledger: &mut FileLedger,
    a: &Approval<'_>,
    find: &mut impl FnMut(&str, String, String),
) {
    let (grant_id, measure_id, amount_fen, fund, approved_by) =
        (a.grant_id, a.measure_id, a.amount, a.fund, a.by);
    let Some(g) = ledger.grants.get_mut(grant_id) else {
        find(
            "rederive.approved_without_request",
            format!("发放 {grant_id} 未经申请即获审批"),
            format!("grant {grant_id} was approved without a request"),
        );
        return;
    };
    if approved_by == g.requested_by {
        find(
            "rederive.self_approved",
            format!("发放 {grant_id} 由申请人 {approved_by} 本人审批"),
            format!("grant {grant_id} was approved by its requester {approved_by}"),
        );
    }
    if amount_fen != g.amount || fund != g.fund {
        find(
            "rederive.approval_differs",
            format!(
                "发放 {grant_id} 审批 {} 元（{}），申请为 {} 元（{}）",
                y(amount_fen),
                fund_code(fund),
                y(g.amount),
                fund_code(g.fund)
            ),
            format!(
                "grant {grant_id} approved {} yuan ({}) but {} yuan ({}) was requested",
                y(amount_fen),
                fund_code(fund),
                y(g.amount),
                fund_code(g.fund)
            ),
        );
    }
    g.approved = Some((amount_fen, fund));
    let total = ledger
        .approved
        .entry(measure_id.to_string())
        .or_insert(Fen::ZERO);
    let Ok(sum) = total.checked_add(amount_fen) else {
        find(
            "rederive.amount_overflow",
            format!("措施 {measure_id} 的批准金额无法相加"),
            format!("measure {measure_id}: the approved amounts cannot be added up"),
        );
        return;
    };
    *total = sum;
    let cap = ledger.planned.get(measure_id).copied().unwrap_or(Fen::ZERO);
    if *total > cap {
        find(
            "rederive.over_measure",
            format!(
                "措施 {measure_id} 已批准 {} 元，超过计划金额 {} 元",
                y(*total),
                y(cap)
            ),
            format!(
                "measure {measure_id}: {} yuan approved, more than its planned {} yuan",
                y(*total),
                y(cap)
            ),
        );
    }
}

/// A payment of obligation `id`: approved, once, for the approved amount
/// from the approved fund. `state` is (paid already, approved amount and fund).
fn check_payment(
    state: Option<(&mut bool, Option<(Fen, Fund)>)>,
    id: &str,
    amount: Fen,
    fund: Fund,
    find: &mut impl FnMut(&str, String, String),
) {
    let Some((paid, Some((approved, approved_fund)))) = state else {
        find(
            "rederive.paid_without_approval",
            format!("{id} 未获审批即发放 {} 元", y(amount)),
            format!("{id}: {} yuan paid without an approval", y(amount)),
        );
        return;
    };
    if *paid {
        find(
            "rederive.paid_twice",
            format!("{id} 重复发放"),
            format!("{id} was paid twice"),
        );
    }
    *paid = true;
    if amount != approved || fund != approved_fund {
        find(
            "rederive.paid_differs",
            format!(
                "{id} 发放 {} 元（{}），审批为 {} 元（{}）",
                y(amount),
                fund_code(fund),
                y(approved),
                fund_code(approved_fund)
            ),
            format!(
                "{id}: {} yuan paid ({}) but {} yuan approved ({})",
                y(amount),
                fund_code(fund),
                y(approved),
                fund_code(approved_fund)
            ),
        );
    }
}

/// One assessment recomputed: its policy is the period's (and carries the
/// version recorded), and the recorded facts give the recorded outcome.
fn recompute(
    (plan_id, policy_version, policy): (&str, &str, &Policy),
    period: Option<&Policy>,
    inputs: &domain::mutual_aid::policy::AssessmentFacts,
    outcome: &domain::mutual_aid::policy::Assessment,
    find: &mut impl FnMut(&str, String, String),
) {
    if policy.version.as_str() != policy_version || period != Some(policy) {
        find(
            "rederive.policy_differs",
            format!("评估所用政策 {policy_version} 与互助期 {plan_id} 的政策不符"),
            format!("the assessment's policy {policy_version} is not period {plan_id}'s"),
        );
    }
    match assess(policy, inputs) {
            Ok(again) if &again == outcome => {}
            Ok(again) => find(
                "rederive.subsidy_differs",
                format!(
                    "按记录的事实与政策重算补助为 {} 元，记录为 {} 元",
                    y(again.subsidy_fen()),
                    y(outcome.subsidy_fen())
                ),
                format!(
                    "recomputed from the recorded facts and policy the subsidy is {} yuan; {} yuan was recorded",
                    y(again.subsidy_fen()),
                    y(outcome.subsidy_fen())
                ),
            ),
            Err(err) => find(
                "rederive.subsidy_differs",
                format!("记录的事实无法重算：{err}"),
                format!("the recorded facts cannot be recomputed: {err}"),
            ),
        }
}

/// A claim: each assessment recomputed from its recorded facts and policy
/// (which must be the period's); approved by someone who neither submitted
/// nor assessed it, for the assessed subsidy; paid once, as approved.
fn check_claim(
    events: &[StoredEvent],
    policies: &HashMap<String, Policy>,
    lang: Lang,
    report: &mut RederiveReport,
) {
    let mut submitter = String::new();
    let mut assessed: Option<(String, Fen)> = None;
    let mut approved: Option<(Fen, Fund)> = None;
    let mut paid = false;
    for e in events {
        let ev = match typed::<MutualAidClaim>(e, lang) {
            Ok(ev) => ev,
            Err(f) => {
                report.findings.push(f);
                continue;
            }
        };
        let mut find = |code: &str, zh: String, en: String| {
            report.findings.push(Finding::at(e, code, lang, zh, en));
        };
        match ev {
            MutualAidClaimEvent::ClaimSubmitted(s) => submitter = s.submitted_by.to_string(),
            MutualAidClaimEvent::ClaimAssessed {
                plan_id,
                policy_version,
                policy,
                inputs,
                outcome,
                assessed_by,
                ..
            } => {
                report.assessments += 1;
                let period = policies.get(plan_id.as_str());
                let recorded = (plan_id.as_str(), policy_version.as_str(), &policy);
                recompute(recorded, period, &inputs, &outcome, &mut find);
                assessed = Some((assessed_by.to_string(), outcome.subsidy_fen()));
            }
            MutualAidClaimEvent::ClaimApproved {
                subsidy_fen,
                fund,
                approved_by,
                ..
            } => {
                let by = approved_by.as_str();
                let assessor = assessed.as_ref().map(|(a, _)| a.as_str());
                if by == submitter || Some(by) == assessor {
                    find(
                        "rederive.self_approved",
                        format!("补助由其申请人或评估人 {by} 本人审批"),
                        format!("the subsidy was approved by its submitter or assessor {by}"),
                    );
                }
                let due = assessed.as_ref().map(|(_, s)| *s);
                if due != Some(subsidy_fen) {
                    find(
                        "rederive.approval_differs",
                        format!("审批补助 {} 元与评估结果不符", y(subsidy_fen)),
                        format!(
                            "{} yuan approved differs from the assessment",
                            y(subsidy_fen)
                        ),
                    );
                }
                approved = Some((subsidy_fen, fund));
            }
            MutualAidClaimEvent::ClaimAppealed { .. }
            | MutualAidClaimEvent::ClaimRejected { .. } => {
                approved = None;
            }
            MutualAidClaimEvent::ClaimPaid {
                amount_fen, fund, ..
            } => {
                report.payouts += 1;
                let id = e.aggregate_id.clone();
                check_payment(
                    Some((&mut paid, approved)),
                    &id,
                    amount_fen,
                    fund,
                    &mut find,
                );
            }
            MutualAidClaimEvent::DocumentsReviewed { .. } => {}
        }
    }
}

/// A campaign's allocations: approved by someone other than the proposer,
/// for the amount proposed.
fn check_campaign(events: &[StoredEvent], lang: Lang, report: &mut RederiveReport) {
    let mut proposed: HashMap<String, (String, Fen)> = HashMap::new();
    for e in events {
        let ev = match typed::<DonationCampaign>(e, lang) {
            Ok(ev) => ev,
            Err(f) => {
                report.findings.push(f);
                continue;
            }
        };
        match ev {
            DonationCampaignEvent::AllocationProposed {
                allocation_id,
                amount_fen,
                proposed_by,
                ..
            } => {
                proposed.insert(
                    allocation_id.to_string(),
                    (proposed_by.to_string(), amount_fen),
                );
            }
            DonationCampaignEvent::AllocationApproved {
                allocation_id,
                amount_fen,
                approved_by,
                ..
            } => {
                report.payouts += 1;
                let id = allocation_id.as_str();
                let (zh, en, code) = match proposed.get(id) {
                    None => (
                        format!("拨付 {id} 未经提出即获批准"),
                        format!("allocation {id} was approved without a proposal"),
                        "rederive.approved_without_request",
                    ),
                    Some((by, _)) if by == approved_by.as_str() => (
                        format!("拨付 {id} 由提出人 {by} 本人批准"),
                        format!("allocation {id} was approved by its proposer {by}"),
                        "rederive.self_approved",
                    ),
                    Some((_, amount)) if *amount != amount_fen => (
                        format!(
                            "拨付 {id} 批准 {} 元，提出为 {} 元",
                            y(amount_fen),
                            y(*amount)
                        ),
                        format!(
                            "allocation {id}: {} yuan approved, {} yuan proposed",
                            y(amount_fen),
                            y(*amount)
                        ),
                        "rederive.approval_differs",
                    ),
                    Some(_) => continue,
                };
                report.findings.push(Finding::at(e, code, lang, zh, en));
            }
            _ => {}
        }
    }
}

/// The fund balances folded in log order; a finding whenever a fund goes
/// from covered to overdrawn (money paid that it did not have).
async fn check_funds(
    store: &AnyStore,
    lang: Lang,
    report: &mut RederiveReport,
) -> Result<(), String> {
    let everything = super::asof::AsOf::Position(LogPosition {
        commit: u64::MAX,
        position: u64::MAX,
    });
    super::asof::settled(store, &everything)
        .await
        .map_err(|e| e.to_string())?;
    let mut rows: BTreeMap<RowKey, (Row, LogPosition)> = BTreeMap::new();
    let mut overdrawn: BTreeSet<Fund> = BTreeSet::new();
    let mut after = LogPosition::START;
    loop {
        let page = store
            .read_all(after, crate::store::MAX_READ_PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.log_position;
        for e in &page {
            report.events += 1;
            let Ok(event) = decode(
                &e.aggregate_type,
                &e.event_type,
                &e.event_version,
                &e.payload.to_string(),
            ) else {
                continue; // reported stream by stream as unreadable
            };
            let rec = Recorded {
                position: e.log_position,
                aggregate_id: e.aggregate_id.clone(),
                sequence: e.sequence as u64,
                event,
                actor: None,
                recorded_at: e.recorded_at.clone(),
            };
            let folded = std::panic::catch_unwind(AssertUnwindSafe(|| fold_funds(&mut rows, &rec)));
            let changed = match folded {
                Ok(Ok(changed)) => changed,
                Ok(Err(why)) => return Err(why),
                Err(_) => {
                    report.findings.push(Finding::at(
                        e,
                        "rederive.fund_inconsistent",
                        lang,
                        "资金余额在此事件处无法累计（金额与此前记录矛盾），其后不再累计".into(),
                        "the fund balances cannot be folded past this event (its amounts contradict what came before); folding stopped".into(),
                    ));
                    return Ok(());
                }
            };
            for f in changed {
                if f.overdrawn && overdrawn.insert(f.fund) {
                    report.findings.push(Finding::at(
                        e,
                        "rederive.fund_overdrawn",
                        lang,
                        format!(
                            "资金 {} 在此付出后透支 {} 元",
                            fund_code(f.fund),
                            y(f.overdrawn_fen)
                        ),
                        format!(
                            "fund {} is overdrawn by {} yuan after this payment",
                            fund_code(f.fund),
                            y(f.overdrawn_fen)
                        ),
                    ));
                } else if !f.overdrawn {
                    overdrawn.remove(&f.fund);
                }
            }
        }
    }
}

/// Applies one event to the fund-balances rows; the fund rows it changed.
fn fold_funds(
    rows: &mut BTreeMap<RowKey, (Row, LogPosition)>,
    rec: &Recorded,
) -> Result<Vec<FundBalanceRow>, String> {
    let mut keys = Vec::new();
    ViewName::FundBalances.keys(rec, &mut keys);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut set = RowSet::new();
    for k in keys {
        set.declare(k.clone());
        if let Some((row, at)) = rows.get(&k) {
            set.load(k, row.clone(), *at);
        }
    }
    ViewName::FundBalances
        .apply(rec, &mut set)
        .map_err(|e| e.to_string())?;
    let mut funds = Vec::new();
    for (k, row, at) in set.changed() {
        if let Some(f) = FundBalanceRow::of(row) {
            funds.push(f.clone());
        }
        rows.insert(k.clone(), (row.clone(), at));
    }
    Ok(funds)
}

/// One claim under another policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhatIfClaim {
    /// The claim.
    pub claim_id: String,
    /// The subsidy its latest assessment recorded.
    #[schema(value_type = i64)]
    pub recorded_fen: Fen,
    /// The subsidy under the other policy, from the same facts.
    #[schema(value_type = i64)]
    pub what_if_fen: Fen,
    /// `what_if_fen − recorded_fen`, in fen.
    pub difference_fen: i64,
}

/// A period's claims under another policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhatIfReport {
    /// The period.
    pub period: String,
    /// The other policy's version.
    pub policy_version: String,
    /// Every assessed claim of the period, in id order.
    pub claims: Vec<WhatIfClaim>,
    /// Sum of the recorded subsidies.
    #[schema(value_type = i64)]
    pub recorded_total_fen: Fen,
    /// Sum under the other policy.
    #[schema(value_type = i64)]
    pub what_if_total_fen: Fen,
    /// `what_if_total_fen − recorded_total_fen`, in fen.
    pub difference_fen: i64,
}

/// Re-assesses every assessed claim of `period` under `policy`, from the
/// facts its latest assessment recorded (the member's earlier subsidies in
/// the period are taken as recorded).
pub async fn what_if(
    store: &AnyStore,
    period: &str,
    policy: &Policy,
) -> Result<WhatIfReport, String> {
    let mut report = WhatIfReport {
        period: period.to_string(),
        policy_version: policy.version.to_string(),
        ..WhatIfReport::default()
    };
    let mut failed: Option<String> = None;
    each_stream::<MutualAidClaim>(store, |events| {
        let latest = events.iter().rev().find_map(|e| {
            match crate::app::engine::read_event::<MutualAidClaim>(
                &e.event_type,
                &e.event_version,
                &e.payload,
            )? {
                MutualAidClaimEvent::ClaimAssessed {
                    plan_id,
                    inputs,
                    outcome,
                    ..
                } if plan_id.as_str() == period => Some((e.aggregate_id.clone(), inputs, outcome)),
                _ => None,
            }
        });
        let Some((claim_id, inputs, outcome)) = latest else {
            return;
        };
        match assess(policy, &inputs) {
            Ok(again) => report.claims.push(WhatIfClaim {
                claim_id,
                recorded_fen: outcome.subsidy_fen(),
                what_if_fen: again.subsidy_fen(),
                difference_fen: again.subsidy_fen().fen() - outcome.subsidy_fen().fen(),
            }),
            Err(e) => failed = Some(format!("{claim_id}: {e}")),
        }
    })
    .await?;
    if let Some(why) = failed {
        return Err(why);
    }
    report.claims.sort_by(|a, b| a.claim_id.cmp(&b.claim_id));
    for c in &report.claims {
        report.recorded_total_fen = report
            .recorded_total_fen
            .checked_add(c.recorded_fen)
            .map_err(|e| e.to_string())?;
        report.what_if_total_fen = report
            .what_if_total_fen
            .checked_add(c.what_if_fen)
            .map_err(|e| e.to_string())?;
    }
    report.difference_fen = report.what_if_total_fen.fen() - report.recorded_total_fen.fen();
    Ok(report)
}
