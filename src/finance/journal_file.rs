//! The accounting journal (记账凭证) as a file: one row per debit–credit
//! pair of every journal entry of the books, in log order — date, entry id,
//! account debited, account credited, amount in yuan (two decimals), fund,
//! source (what the entry books) and the event's log position. Chinese
//! headings first (English with `--lang en` / `Accept-Language: en`); the
//! CLI (`bangfu view journal --format … --out …`) and HTTP
//! (`GET /v1/views/journal` with `Accept: text/csv` or XLSX) render the same
//! [`Table`].
//!
//! An entry's lines come in pairs (a debit and the credit of the same
//! amount: see `projections::views::books`); a line without its pair would
//! be written on a row of its own with the other side empty. Entries that
//! move nothing (an allocation inside the donation fund, kept for lineage)
//! are left out.

use domain::fund::Fund;
use domain::i18n::Lang;
use projections::rows::parse_fund;
use projections::views::books::{JournalEntryRow, JournalLine};

use crate::files::table::{Cell, Heading, Table};

/// The journal of `entries` (in the order given) as a table; account,
/// fund and source labels in `lang` (headings follow the language the
/// table is rendered in).
pub fn journal_table(entries: &[JournalEntryRow], lang: Lang) -> Table {
    let h = Heading::new;
    let mut table = Table::new(
        h("记账凭证", "journal"),
        vec![
            h("日期", "date"),
            h("凭证号", "entry id"),
            h("借方科目", "account debited"),
            h("借方科目代码", "debit account code"),
            h("贷方科目", "account credited"),
            h("贷方科目代码", "credit account code"),
            h("金额（元）", "amount (yuan)"),
            h("基金", "fund"),
            h("业务", "source"),
            h("摘要", "reference"),
            h("事件位置", "event position"),
        ],
    );
    for e in entries {
        for (debit, credit) in pairs(&e.lines) {
            let amount = debit.or(credit).map_or(Cell::Empty, |l| {
                Cell::Money(if l.debit_fen.is_zero() {
                    l.credit_fen
                } else {
                    l.debit_fen
                })
            });
            let account = |l: Option<&JournalLine>| {
                l.map_or((Cell::Empty, Cell::Empty), |l| {
                    (
                        Cell::text(account_label(&l.account, lang)),
                        Cell::text(l.account.clone()),
                    )
                })
            };
            let (d_name, d_code) = account(debit);
            let (c_name, c_code) = account(credit);
            table.push(vec![
                Cell::Date(e.date),
                Cell::text(e.entry_id.clone()),
                d_name,
                d_code,
                c_name,
                c_code,
                amount,
                Cell::text(funds_of(debit, credit, lang)),
                Cell::text(event_label(&e.event_type, lang)),
                Cell::text(e.reference.clone()),
                Cell::text(position(e)),
            ]);
        }
    }
    table
}

/// Debit–credit pairs of an entry's lines; an unpaired line alone.
fn pairs(lines: &[JournalLine]) -> Vec<(Option<&JournalLine>, Option<&JournalLine>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(l) = lines.get(i) {
        let next = lines.get(i + 1);
        let paired = next.filter(|n| {
            !l.debit_fen.is_zero()
                && l.credit_fen.is_zero()
                && n.debit_fen.is_zero()
                && n.credit_fen == l.debit_fen
        });
        if let Some(n) = paired {
            out.push((Some(l), Some(n)));
            i += 2;
        } else if l.debit_fen.is_zero() {
            out.push((None, Some(l)));
            i += 1;
        } else {
            out.push((Some(l), None));
            i += 1;
        }
    }
    out
}

/// `{commit}/{position}` on PostgreSQL, the position alone on SQLite.
fn position(e: &JournalEntryRow) -> String {
    if e.log_commit == 0 {
        e.log_position.to_string()
    } else {
        format!("{}/{}", e.log_commit, e.log_position)
    }
}

fn fund_of(account: &str) -> Option<Fund> {
    account.split_once(':').and_then(|(_, f)| parse_fund(f))
}

/// The fund of a pair; `from→to` when the pair moves money between funds.
fn funds_of(debit: Option<&JournalLine>, credit: Option<&JournalLine>, lang: Lang) -> String {
    let d = debit.and_then(|l| fund_of(&l.account));
    let c = credit.and_then(|l| fund_of(&l.account));
    match (d, c) {
        (Some(d), Some(c)) if d != c => {
            format!("{}→{}", d.label(lang), c.label(lang))
        }
        (Some(f), _) | (None, Some(f)) => f.label(lang).to_string(),
        (None, None) => String::new(),
    }
}

/// `bank:mutual_aid` → 银行存款（含库存现金）-互助金.
pub fn account_label(account: &str, lang: Lang) -> String {
    let Some((kind, _)) = account.split_once(':') else {
        return account.to_string();
    };
    let kind = match kind {
        "bank" => lang.pick("银行存款（含库存现金）", "bank and cash"),
        "payable" => lang.pick("应付发放款", "payouts payable"),
        "fund" => lang.pick("基金可用余额", "fund available"),
        _ => return account.to_string(),
    };
    match fund_of(account) {
        Some(f) => format!("{kind}-{}", f.label(lang)),
        None => account.to_string(),
    }
}

/// What a journal entry books, for people.
pub fn event_label(event_type: &str, lang: Lang) -> String {
    let (zh, en) = match event_type {
        "Appropriated" => ("拨款收入", "appropriation received"),
        "AppropriationReversed" => ("拨款冲回", "appropriation reversed"),
        "UnitEnrolled" => ("互助金缴费", "contribution"),
        "RosterAmended" => ("互助金补缴", "additional contribution"),
        "DonationRecorded" => ("捐款收入", "donation received"),
        "DonationReversed" => ("捐款冲回", "donation reversed"),
        "AllocationApproved" => ("捐款拨付", "allocation approved"),
        "GrantApproved" => ("帮扶发放审批", "grant approved"),
        "GrantPaid" => ("帮扶发放支付", "grant paid"),
        "ClaimApproved" => ("大病补助审批", "claim subsidy approved"),
        "ClaimPaid" => ("大病补助支付", "claim subsidy paid"),
        "BankResultsRecorded" => ("银行发放结果", "bank results"),
        "PayoutCancelled" => ("取消发放", "payout cancelled"),
        other => return other.to_string(),
    };
    lang.pick(zh, en).to_string()
}
