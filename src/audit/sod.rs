//! Segregation of duties over the whole history (`bangfu audit sod`,
//! `GET /v1/audit/sod`): anyone who approved their own request, acted in two
//! incompatible duties on one case, or acted in different roles on one case.
//!
//! Duties are read from the events (the actor is the event's
//! `metadata.actor_id`): **request** (a grant requested, a claim
//! submitted, an allocation proposed), **assess** (a claim assessed),
//! **approve** (a grant, claim or allocation approved), **pay** (a grant or
//! claim subsidy paid), **verify** (a file verified or its verification
//! rejected). Incompatible pairs are configured as
//! `request+approve,request+pay,…` (`--pairs`, or `BANGFU_SOD_PAIRS`);
//! [`DEFAULT_PAIRS`] otherwise. The same pairs decide which user roles may
//! not be held together (`bangfu users add`, `POST /v1/users`): each duty
//! belongs to the role that performs it ([`Duty::role`]).

use std::collections::{BTreeMap, BTreeSet};

use domain::command::{metadata_keys, Role};
use domain::i18n::Lang;
use serde::{Deserialize, Serialize};

use super::rederive::Finding;
use crate::store::{AnyStore, StoredEvent};

/// The pairs used when none are configured.
pub const DEFAULT_PAIRS: &str = "request+approve,request+pay,approve+pay,assess+approve";

/// The environment variable that configures the pairs.
pub const PAIRS_ENV: &str = "BANGFU_SOD_PAIRS";

/// Something a person does on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// Asks for money: requests a grant, submits a claim, proposes an allocation.
    Request,
    /// Assesses a claim.
    Assess,
    /// Approves a grant, claim or allocation.
    Approve,
    /// Records a payment.
    Pay,
    /// Verifies a file.
    Verify,
}

impl Duty {
    const ALL: [Duty; 5] = [
        Duty::Request,
        Duty::Assess,
        Duty::Approve,
        Duty::Pay,
        Duty::Verify,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Duty::Request => "request",
            Duty::Assess => "assess",
            Duty::Approve => "approve",
            Duty::Pay => "pay",
            Duty::Verify => "verify",
        }
    }

    /// Name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Duty::Request => ("申请", "request"),
            Duty::Assess => ("评估", "assess"),
            Duty::Approve => ("审批", "approve"),
            Duty::Pay => ("发放", "pay"),
            Duty::Verify => ("核实", "verify"),
        };
        lang.pick(zh, en)
    }

    /// The user role that performs it (the permission matrix).
    pub fn role(self) -> Role {
        match self {
            Duty::Request => Role::Caseworker,
            Duty::Assess | Duty::Approve | Duty::Verify => Role::Approver,
            Duty::Pay => Role::Finance,
        }
    }

    /// The duty an event records, if any.
    pub fn of(event_type: &str) -> Option<Duty> {
        Some(match event_type {
            "GrantRequested" | "ClaimSubmitted" | "AllocationProposed" => Duty::Request,
            "ClaimAssessed" => Duty::Assess,
            "GrantApproved" | "ClaimApproved" | "AllocationApproved" => Duty::Approve,
            "GrantPaid" | "ClaimPaid" => Duty::Pay,
            "FileVerified" | "VerificationRejected" => Duty::Verify,
            _ => return None,
        })
    }
}

/// Incompatible pairs of duties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairs(pub Vec<(Duty, Duty)>);

impl Pairs {
    /// `request+approve,request+pay`; an empty string is no pairs.
    pub fn parse(s: &str) -> Result<Pairs, String> {
        let duty = |name: &str| {
            Duty::ALL
                .into_iter()
                .find(|d| d.as_str() == name.trim())
                .ok_or_else(|| {
                    format!("unknown duty `{name}` (request, assess, approve, pay, verify)")
                })
        };
        let mut pairs = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (a, b) = item
                .split_once('+')
                .ok_or_else(|| format!("`{item}` is not a pair (duty+duty)"))?;
            pairs.push((duty(a)?, duty(b)?));
        }
        Ok(Pairs(pairs))
    }

    /// `BANGFU_SOD_PAIRS` if set, else [`DEFAULT_PAIRS`].
    pub fn configured() -> Result<Pairs, String> {
        match std::env::var(PAIRS_ENV) {
            Ok(v) => Pairs::parse(&v).map_err(|e| format!("{PAIRS_ENV}: {e}")),
            Err(_) => Pairs::parse(DEFAULT_PAIRS),
        }
    }

    /// The first two of `roles` one person may not hold together: the roles
    /// of an incompatible pair of duties, when they are two roles.
    pub fn refused_roles(&self, roles: &[Role]) -> Option<(Role, Role)> {
        self.0.iter().find_map(|(a, b)| {
            let (ra, rb) = (a.role(), b.role());
            (ra != rb && roles.contains(&ra) && roles.contains(&rb)).then_some((ra, rb))
        })
    }
}

/// The message refusing a user with `roles` (Chinese first).
pub fn refusal(roles: (Role, Role), lang: Lang) -> String {
    let (a, b) = (roles.0.label(lang), roles.1.label(lang));
    match lang {
        Lang::Zh => format!("职责分离：同一用户不能同时担任「{a}」与「{b}」（{PAIRS_ENV} 可配置不相容的职责）"),
        Lang::En => format!("segregation of duties: one user may not hold both {a} and {b} ({PAIRS_ENV} configures the incompatible duties)"),
    }
}

/// Refuses a new user whose roles the configured pairs keep apart (the
/// message says which, Chinese first); a bad configuration is refused too.
pub fn check_new_user(roles: &[Role], lang: Lang) -> Result<(), String> {
    let pairs = Pairs::configured()?;
    match pairs.refused_roles(roles) {
        Some(pair) => Err(refusal(pair, lang)),
        None => Ok(()),
    }
}

/// What `sod` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SodReport {
    /// The pairs checked, as `request+approve`.
    pub pairs: Vec<String>,
    /// Streams read.
    pub streams: u64,
    /// Events read.
    pub events: u64,
    /// Every breach, stream by stream.
    pub findings: Vec<Finding>,
}

/// Reads every stream of every case aggregate and reports each breach.
pub async fn report(store: &AnyStore, pairs: &Pairs, lang: Lang) -> Result<SodReport, String> {
    let mut report = SodReport {
        pairs: pairs
            .0
            .iter()
            .map(|(a, b)| format!("{}+{}", a.as_str(), b.as_str()))
            .collect(),
        ..SodReport::default()
    };
    for aggregate_type in projections::event::aggregate_types::ALL {
        for id in store
            .streams(aggregate_type)
            .await
            .map_err(|e| e.to_string())?
        {
            let events = store
                .history(aggregate_type, &id)
                .await
                .map_err(|e| e.to_string())?;
            report.streams += 1;
            report.events += events.len() as u64;
            check_stream(&events, pairs, lang, &mut report.findings);
        }
    }
    Ok(report)
}

/// What one obligation (a grant, a claim, an allocation) is called in its
/// stream: its own id field, else the stream itself.
fn obligation(e: &StoredEvent) -> String {
    let body = e.payload.as_object().and_then(|o| o.values().next());
    ["grant_id", "allocation_id"]
        .iter()
        .find_map(|f| body?.get(*f)?.as_str().map(str::to_string))
        .unwrap_or_else(|| e.aggregate_id.clone())
}

fn check_stream(events: &[StoredEvent], pairs: &Pairs, lang: Lang, out: &mut Vec<Finding>) {
    let mut duties: BTreeMap<String, BTreeMap<Duty, &StoredEvent>> = BTreeMap::new();
    let mut roles: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut requesters: BTreeMap<String, String> = BTreeMap::new();
    for e in events {
        let Some(actor) = e.metadata.get(metadata_keys::ACTOR_ID) else {
            continue;
        };
        if let Some(role) = e.metadata.get(metadata_keys::ACTOR_ROLE) {
            let held = roles.entry(actor.clone()).or_default();
            if held.insert(role.clone()) && held.len() == 2 {
                out.push(Finding::at(
                    e,
                    "sod.role_changed",
                    lang,
                    format!("{actor} 在同一案件中以不同角色操作：{}", join(held)),
                    format!(
                        "{actor} acted in different roles on one case: {}",
                        join(held)
                    ),
                ));
            }
        }
        let Some(duty) = Duty::of(&e.event_type) else {
            continue;
        };
        match duty {
            Duty::Request => {
                requesters.insert(obligation(e), actor.clone());
            }
            Duty::Approve if requesters.get(&obligation(e)) == Some(actor) => {
                out.push(Finding::at(
                    e,
                    "sod.self_approved",
                    lang,
                    format!("{actor} 审批了本人的申请 {}", obligation(e)),
                    format!("{actor} approved their own request {}", obligation(e)),
                ));
            }
            _ => {}
        }
        let mine = duties.entry(actor.clone()).or_default();
        if mine.insert(duty, e).is_none() {
            for (a, b) in &pairs.0 {
                let other = if duty == *a {
                    *b
                } else if duty == *b {
                    *a
                } else {
                    continue;
                };
                if other != duty && mine.contains_key(&other) {
                    out.push(Finding::at(
                        e,
                        "sod.incompatible_duties",
                        lang,
                        format!(
                            "{actor} 在同一案件中既「{}」又「{}」",
                            other.label(lang),
                            duty.label(lang)
                        ),
                        format!(
                            "{actor} both did {} and {} on one case",
                            other.label(lang),
                            duty.label(lang)
                        ),
                    ));
                }
            }
        }
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
