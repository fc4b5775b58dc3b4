//! Value types: parsed once at the boundary, trusted everywhere after.
//!
//! Every type here is constructed only through a `parse`/`new` that returns
//! `Result<_, ValueError>`, and deserializes through the same function, so a
//! command that reached an aggregate carries only valid values.

mod date;
mod ids;
mod money;
#[cfg(feature = "openapi")]
pub mod schema;
mod text;

pub use date::{
    business_date, check_date, plausible_date, with_business_date, EARLIEST_DATE, LATEST_DATE,
};
pub use ids::{BankCard, MobileNumber, ResidentId};
pub use money::{amount, BasisPoints, Fen, MoneyError, MAX_AMOUNT_FEN, MAX_EVENTS};
pub use text::{
    check_aggregate_id, check_visible, Code, LongText, OrgName, PersonName, ShortText,
    AGGREGATE_ID_RULE,
};

use crate::i18n::{default_lang, ErrorCode, Lang, Localize};

/// Why a value was refused. Names the kind of value; the caller (serde path,
/// CLI, API) adds the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Required text was empty (after trimming).
    #[error("{}", self.localize(default_lang()))]
    Empty { what: &'static str },
    /// Text longer than its limit, counted in characters.
    #[error("{}", self.localize(default_lang()))]
    TooLong {
        what: &'static str,
        max_chars: usize,
        actual_chars: usize,
    },
    /// Text with control characters (other than newline and tab in long text).
    #[error("{}", self.localize(default_lang()))]
    ControlCharacter { what: &'static str },
    /// Text with a character a reader cannot see or that changes how the text
    /// around it reads (zero-width, bidi control, byte-order mark, …).
    #[error("{}", self.localize(default_lang()))]
    InvisibleCharacter { what: &'static str, code_point: u32 },
    /// Wrong shape (length, characters).
    #[error("{}", self.localize(default_lang()))]
    BadFormat {
        what: &'static str,
        expected: &'static str,
    },
    /// A check digit that does not match (GB 11643 for resident IDs, Luhn for cards).
    #[error("{}", self.localize(default_lang()))]
    BadCheckDigit { what: &'static str },
    /// The birth date inside a resident ID is not a real date between 1900 and 2099.
    #[error("{}", self.localize(default_lang()))]
    BadBirthDate,
    /// The birth date inside a resident ID is after the command's business date.
    #[error("{}", self.localize(default_lang()))]
    BornInFuture { birth_date: chrono::NaiveDate },
    /// A date outside 1900-01-01..=2199-12-31.
    #[error("{}", self.localize(default_lang()))]
    DateOutOfRange { date: chrono::NaiveDate },
    /// The region code inside a resident ID names no province.
    #[error("{}", self.localize(default_lang()))]
    BadRegion,
    /// A money amount below zero.
    #[error("{}", self.localize(default_lang()))]
    NegativeAmount,
    /// A yuan string that is not `123`, `123.4` or `123.45`.
    #[error("{}", self.localize(default_lang()))]
    BadYuan,
    /// A number outside the representable range.
    #[error("{}", self.localize(default_lang()))]
    OutOfRange { what: &'static str },
    /// A single amount above [`money::MAX_AMOUNT_FEN`].
    #[error("{}", self.localize(default_lang()))]
    AmountTooLarge,
}

/// A date as typed: `0000-01-01`, `-0001-01-01`, `10000-01-01`.
fn show_date(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (y, rest) = (date.year(), date.format("%m-%d"));
    if y < 0 {
        format!("-{:04}-{rest}", -y)
    } else {
        format!("{y:04}-{rest}")
    }
}

fn expected_zh(expected: &str) -> &str {
    match expected {
        "letters, digits and . _ / -" => "字母、数字及 . _ / -",
        text::AGGREGATE_ID_RULE => {
            "1 至 64 个字母、数字及 . _ / -，原样给出（不含空格），斜杠之间不能为空、. 或 .."
        }
        "18 characters: 17 digits then a digit or X" => "18 位：17 位数字加 1 位数字或 X",
        "12 to 19 digits" => "12 至 19 位数字",
        "11 digits starting 13–19" => "以 13–19 开头的 11 位数字",
        other => other,
    }
}

fn what_zh(what: &str) -> &str {
    match what {
        "resident ID" => "身份证号",
        "bank card" => "银行卡号",
        "mobile number" => "手机号",
        "person name" => "姓名",
        "organisation name" => "单位名称",
        "short text" => "文本",
        "long text" => "文本",
        "code" => "编号",
        "aggregate id" => "案卷编号",
        "basis points" => "基点",
        "amount" => "金额",
        other => other,
    }
}

impl Localize for ValueError {
    fn localize(&self, lang: Lang) -> String {
        use ValueError::*;
        match (self, lang) {
            (Empty { what }, Lang::Zh) => format!("{}不能为空", what_zh(what)),
            (Empty { what }, Lang::En) => format!("{what} must not be empty"),
            (
                TooLong {
                    what,
                    max_chars,
                    actual_chars,
                },
                Lang::Zh,
            ) => format!(
                "{}过长：最多 {max_chars} 个字符，实际 {actual_chars} 个",
                what_zh(what)
            ),
            (
                TooLong {
                    what,
                    max_chars,
                    actual_chars,
                },
                Lang::En,
            ) => format!("{what} is too long: at most {max_chars} characters, got {actual_chars}"),
            (ControlCharacter { what }, Lang::Zh) => format!("{}含有控制字符", what_zh(what)),
            (ControlCharacter { what }, Lang::En) => format!("{what} contains control characters"),
            (InvisibleCharacter { what, code_point }, Lang::Zh) => format!(
                "{}含有不可见或改变文字方向的字符 U+{code_point:04X}",
                what_zh(what)
            ),
            (InvisibleCharacter { what, code_point }, Lang::En) => format!(
                "{what} contains an invisible or direction-changing character, U+{code_point:04X}"
            ),
            (BadFormat { what, expected }, Lang::Zh) => {
                format!(
                    "{}格式不正确（应为{}）",
                    what_zh(what),
                    expected_zh(expected)
                )
            }
            (BadFormat { what, expected }, Lang::En) => {
                format!("{what} is malformed (expected {expected})")
            }
            (BadCheckDigit { what }, Lang::Zh) => format!("{}校验位不正确", what_zh(what)),
            (BadCheckDigit { what }, Lang::En) => format!("{what} check digit is wrong"),
            (BadBirthDate, Lang::Zh) => "身份证号中的出生日期无效".into(),
            (BadBirthDate, Lang::En) => "the birth date inside the resident ID is not valid".into(),
            (BornInFuture { birth_date }, Lang::Zh) => {
                format!("身份证号中的出生日期 {birth_date} 晚于今天")
            }
            (BornInFuture { birth_date }, Lang::En) => {
                format!("the birth date inside the resident ID, {birth_date}, is after today")
            }
            (DateOutOfRange { date }, Lang::Zh) => format!(
                "日期 {} 超出允许范围（{EARLIEST_DATE} 至 {LATEST_DATE}）",
                show_date(*date)
            ),
            (DateOutOfRange { date }, Lang::En) => format!(
                "the date {} is out of range ({EARLIEST_DATE} to {LATEST_DATE})",
                show_date(*date)
            ),
            (BadRegion, Lang::Zh) => "身份证号中的地区代码无效".into(),
            (BadRegion, Lang::En) => "the region code inside the resident ID is not valid".into(),
            (NegativeAmount, Lang::Zh) => "金额不能为负数".into(),
            (NegativeAmount, Lang::En) => "amount must not be negative".into(),
            (BadYuan, Lang::Zh) => "金额格式不正确（应为元，最多两位小数，如 58917.86）".into(),
            (BadYuan, Lang::En) => {
                "amount is malformed (expected yuan with at most two decimals, e.g. 58917.86)"
                    .into()
            }
            (OutOfRange { what }, Lang::Zh) => format!("{}超出允许范围", what_zh(what)),
            (OutOfRange { what }, Lang::En) => format!("{what} is out of range"),
            (AmountTooLarge, Lang::Zh) => format!(
                "金额超过上限：单笔最多 {} 元（{} 分）",
                Fen::MAX_AMOUNT.to_yuan_grouped(),
                money::MAX_AMOUNT_FEN
            ),
            (AmountTooLarge, Lang::En) => format!(
                "amount exceeds the limit: at most {} yuan ({} fen) per amount",
                Fen::MAX_AMOUNT.to_yuan_grouped(),
                money::MAX_AMOUNT_FEN
            ),
        }
    }
}

impl ErrorCode for ValueError {
    fn code(&self) -> &'static str {
        use ValueError::*;
        match self {
            Empty { .. } => "value.empty",
            TooLong { .. } => "value.too_long",
            ControlCharacter { .. } => "value.control_character",
            InvisibleCharacter { .. } => "value.invisible_character",
            BadFormat { .. } => "value.bad_format",
            BadCheckDigit { .. } => "value.bad_check_digit",
            BadBirthDate => "value.bad_birth_date",
            BadRegion => "value.bad_region",
            BornInFuture { .. } => "value.born_in_future",
            DateOutOfRange { .. } => "value.date_out_of_range",
            NegativeAmount => "value.negative_amount",
            BadYuan => "value.bad_yuan",
            OutOfRange { .. } => "value.out_of_range",
            AmountTooLarge => "value.amount_too_large",
        }
    }
}
