//! Who may do what: the permission matrix of ../shared/DOMAIN.md, in one table.
//!
//! - caseworkers open files, log visits, propose plans, request grants, submit
//!   claims, record donations and propose allocations;
//! - approvers verify files, approve or decline what others requested, assess
//!   claims, and open and close periods and campaigns;
//! - finance records payments and reversals, closes fund periods, and records
//!   (and reverses) appropriations into the funds;
//! - auditors read everything and write nothing;
//! - admins manage users and read no case data.
//!
//! Reading case data is for the four case roles. Four-eyes (nobody approves
//! what they requested or assessed) is not here: the aggregates enforce it for
//! every role, admin included. README.md prints this table; a test checks every
//! endpoint × role against README's copy.

use domain::command::Role;

use crate::app::AggregateKind;

use Role::{Approver as A, Auditor, Caseworker as C, Finance as F};

/// Every command of every aggregate with the roles that may send it.
pub const COMMANDS: &[(AggregateKind, &str, &[Role])] = &[
    (AggregateKind::HardshipFile, "OpenFile", &[C]),
    (AggregateKind::HardshipFile, "LogVisit", &[C]),
    (AggregateKind::HardshipFile, "Verify", &[A]),
    (AggregateKind::HardshipFile, "AdoptPlan", &[C, A]),
    (AggregateKind::HardshipFile, "RevisePlan", &[C, A]),
    (AggregateKind::HardshipFile, "RequestGrant", &[C]),
    (AggregateKind::HardshipFile, "ApproveGrant", &[A]),
    (AggregateKind::HardshipFile, "DeclineGrant", &[A]),
    (AggregateKind::HardshipFile, "RecordGrantPaid", &[F]),
    (AggregateKind::HardshipFile, "CompleteMeasure", &[C]),
    (AggregateKind::HardshipFile, "RecordReview", &[C]),
    (AggregateKind::HardshipFile, "CloseFile", &[A]),
    (AggregateKind::HardshipFile, "ReopenFile", &[C]),
    (AggregateKind::MutualAidPlan, "OpenPeriod", &[A]),
    (AggregateKind::MutualAidPlan, "EnrolUnit", &[C]),
    (AggregateKind::MutualAidPlan, "AmendRoster", &[C]),
    (AggregateKind::MutualAidPlan, "ClosePeriod", &[F]),
    (AggregateKind::MutualAidClaim, "Submit", &[C]),
    (AggregateKind::MutualAidClaim, "ReviewDocuments", &[C]),
    (AggregateKind::MutualAidClaim, "Assess", &[A]),
    (AggregateKind::MutualAidClaim, "Approve", &[A]),
    (AggregateKind::MutualAidClaim, "Reject", &[A]),
    (AggregateKind::MutualAidClaim, "Appeal", &[C]),
    (AggregateKind::MutualAidClaim, "MarkPaid", &[F]),
    (AggregateKind::DonationCampaign, "Launch", &[A]),
    (AggregateKind::DonationCampaign, "RecordDonation", &[C]),
    (AggregateKind::DonationCampaign, "ReverseDonation", &[F]),
    (AggregateKind::DonationCampaign, "Close", &[A, F]),
    (AggregateKind::DonationCampaign, "ProposeAllocation", &[C]),
    (AggregateKind::DonationCampaign, "ApproveAllocation", &[A]),
    (AggregateKind::DonationCampaign, "RejectAllocation", &[A]),
    (AggregateKind::FundAccount, "Appropriate", &[F]),
    (AggregateKind::FundAccount, "ReverseAppropriation", &[F]),
    (AggregateKind::PayoutBatch, "Draft", &[F]),
    (AggregateKind::PayoutBatch, "Lock", &[F]),
    (AggregateKind::PayoutBatch, "Authorise", &[A, F]),
    (AggregateKind::PayoutBatch, "Discard", &[F]),
    (AggregateKind::PayoutBatch, "RecordExport", &[F]),
    (AggregateKind::PayoutBatch, "RecordResults", &[F]),
    (AggregateKind::PayoutBatch, "Reissue", &[F]),
    (AggregateKind::PayoutBatch, "CancelPayout", &[F, A]),
    (AggregateKind::PayoutBatch, "Close", &[F]),
    (AggregateKind::AccountingPeriod, "Close", &[F]),
];

/// A payout batch's bank-file endpoints, each allowed to the roles of the
/// command it records (`http/bank.rs`).
pub const BANK_FILES: [(&str, &str); 2] = [
    ("POST /v1/payout-batches/{id}/exports", "RecordExport"),
    ("POST /v1/payout-batches/{id}/bank-results", "RecordResults"),
];

/// Roles that read case data (streams, state, history, summaries, views, chain checks).
pub const READERS: &[Role] = &[C, A, F, Auditor];

/// Roles that take an audit seal on demand (`POST /v1/audit/seals`).
pub const SEALERS: &[Role] = &[Auditor, Role::Admin];

/// Roles that read the stored audit seals: the audit office (auditors and
/// admins). Seals hold no case data and are made to be published, but
/// publishing them is the audit office's act, not the case roles'.
pub const SEAL_READERS: &[Role] = &[Auditor, Role::Admin];
/// Roles that run the full audit verification (`GET /v1/audit/verify`:
/// chains, log order, every seal): auditors and admins, not the case roles
/// whose work it checks.
pub const VERIFIERS: &[Role] = &[Auditor, Role::Admin];
/// Roles that run the audit reviews (re-derivation, what-if, segregation
/// of duties, the read-access log).
pub const AUDITORS: &[Role] = &[Auditor];

/// The audit review endpoints, run by [`AUDITORS`].
pub const AUDIT_REVIEWS: [&str; 4] = [
    "GET /v1/audit/rederive",
    "POST /v1/audit/what-if/{id}",
    "GET /v1/audit/sod",
    "GET /v1/audit/access-log",
];

/// Roles that manage users.
pub const USER_ADMINS: &[Role] = &[Role::Admin];

/// Roles that see personal data (resident IDs, bank cards, phones) unmasked:
/// the people who visit, verify and pay. Auditors check the record without
/// needing whose it is.
pub const SEES_PERSONAL_DATA: &[Role] = &[C, A, F];

/// The view endpoints (the projections' five views), read by [`READERS`].
pub const VIEWS: [&str; 7] = [
    "GET /v1/views/household-files/{id}",
    "GET /v1/views/plan-periods/{id}",
    "GET /v1/views/payout-ledger",
    "GET /v1/views/campaigns/{id}",
    "GET /v1/views/fund-balances",
    "GET /v1/views/journal",
    "GET /v1/views/lineage",
];

/// Something a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send a command (its name, `OpenFile`) to an aggregate.
    Command(AggregateKind, &'a str),
    /// Read case data.
    Read,
    /// Add, list, revoke, re-enable users and change their roles.
    ManageUsers,
    /// Take an audit seal now.
    Seal,
    /// Read the stored audit seals.
    ReadSeals,
    /// Run the full audit verification.
    Verify,
    /// Run an audit review.
    Audit,
}

/// Whether `role` may do `action`. Unknown commands are allowed here so that
/// the body parser can name them as unknown (400) instead of a bare 403.
pub fn allows(role: Role, action: Action<'_>) -> bool {
    match action {
        Action::Command(kind, name) => match command_roles(kind, name) {
            Some(roles) => roles.contains(&role),
            None => writes_any(role, kind),
        },
        Action::Read => READERS.contains(&role),
        Action::ManageUsers => USER_ADMINS.contains(&role),
        Action::Seal => SEALERS.contains(&role),
        Action::ReadSeals => SEAL_READERS.contains(&role),
        Action::Verify => VERIFIERS.contains(&role),
        Action::Audit => AUDITORS.contains(&role),
    }
}

/// The roles that may send `name` to `kind`, if it is a command of `kind`.
pub fn command_roles(kind: AggregateKind, name: &str) -> Option<&'static [Role]> {
    COMMANDS
        .iter()
        .find(|(k, n, _)| *k == kind && *n == name)
        .map(|(_, _, roles)| *roles)
}

/// Whether `role` may send any command to `kind` at all.
pub fn writes_any(role: Role, kind: AggregateKind) -> bool {
    COMMANDS
        .iter()
        .any(|(k, _, roles)| *k == kind && roles.contains(&role))
}

/// Whether `role` sees personal data unmasked.
pub fn sees_personal_data(role: Role) -> bool {
    SEES_PERSONAL_DATA.contains(&role)
}

/// The path segment of each aggregate kind in the API.
pub fn plural(kind: AggregateKind) -> &'static str {
    match kind {
        AggregateKind::HardshipFile => "hardship-files",
        AggregateKind::MutualAidPlan => "mutual-aid-plans",
        AggregateKind::MutualAidClaim => "mutual-aid-claims",
        AggregateKind::DonationCampaign => "donation-campaigns",
        AggregateKind::FundAccount => "fund-accounts",
        AggregateKind::PayoutBatch => "payout-batches",
        AggregateKind::AccountingPeriod => "accounting-periods",
    }
}

/// Every endpoint (commands one row each) with the roles allowed, in the
/// order README.md and the docs page print them. `/health`, `/openapi.json`
/// and `/docs` need no token and are not listed.
pub fn matrix() -> Vec<(String, Vec<Role>)> {
    let mut rows: Vec<(String, Vec<Role>)> = COMMANDS
        .iter()
        .map(|(kind, name, roles)| {
            (
                format!("POST /v1/{}/{{id}}/commands {name}", plural(*kind)),
                roles.to_vec(),
            )
        })
        .collect();
    for (endpoint, command) in BANK_FILES {
        let roles = command_roles(AggregateKind::PayoutBatch, command).unwrap_or(&[]);
        rows.push((endpoint.to_string(), roles.to_vec()));
    }
    for kind in AggregateKind::ALL {
        let p = plural(kind);
        for endpoint in [
            format!("GET /v1/{p}"),
            format!("GET /v1/{p}/{{id}}"),
            format!("GET /v1/{p}/{{id}}/state"),
            format!("GET /v1/{p}/{{id}}/events"),
        ] {
            rows.push((endpoint, READERS.to_vec()));
        }
    }
    for endpoint in VIEWS {
        rows.push((endpoint.to_string(), READERS.to_vec()));
    }
    rows.push(("GET /v1/audit/verify".into(), VERIFIERS.to_vec()));
    rows.push(("POST /v1/audit/verify".into(), VERIFIERS.to_vec()));
    rows.push(("GET /v1/audit/public-key".into(), VERIFIERS.to_vec()));
    rows.push(("GET /v1/audit/chain".into(), VERIFIERS.to_vec()));
    rows.push(("GET /v1/audit/verifier".into(), VERIFIERS.to_vec()));
    rows.push(("GET /v1/audit/seals".into(), SEAL_READERS.to_vec()));
    rows.push(("POST /v1/audit/seals".into(), SEALERS.to_vec()));
    for endpoint in AUDIT_REVIEWS {
        rows.push((endpoint.to_string(), AUDITORS.to_vec()));
    }
    for endpoint in [
        "GET /v1/users",
        "POST /v1/users",
        "POST /v1/users/{user_id}/revoke",
        "POST /v1/users/{user_id}/token",
        "PUT /v1/users/{user_id}/roles",
    ] {
        rows.push((endpoint.into(), USER_ADMINS.to_vec()));
    }
    rows.push(("GET /v1/me".into(), crate::access::users::ROLES.to_vec()));
    rows
}

/// [`matrix`] as the Markdown table README.md carries.
pub fn matrix_markdown() -> String {
    let roles = crate::access::users::ROLES;
    let mut out = String::from("| endpoint |");
    for role in roles {
        out.push_str(&format!(" {} |", role.as_str()));
    }
    out.push_str("\n|---|");
    for _ in roles {
        out.push_str(":-:|");
    }
    out.push('\n');
    for (endpoint, allowed) in matrix() {
        out.push_str(&format!("| `{endpoint}` |"));
        for role in roles {
            out.push_str(if allowed.contains(&role) {
                " ✓ |"
            } else {
                " — |"
            });
        }
        out.push('\n');
    }
    out
}
