//! Reading commands from JSON at the boundary (CLI files and stdin; later the API).
//!
//! Bad input gets a clear error that names the field and changes nothing:
//! the body is size-limited, must be UTF-8 JSON, may not contain unknown
//! fields, and every value is parsed into its domain type here, so an
//! aggregate never sees an unparsed string.

use domain::i18n::{ErrorCode, Lang, Localize};
use serde::de::DeserializeOwned;

/// Largest command body accepted, in bytes (a 20,000-member roster fits).
pub const MAX_COMMAND_BYTES: usize = 8 * 1024 * 1024;

/// Why a command body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Body larger than [`MAX_COMMAND_BYTES`].
    #[error("command body is {actual_bytes} bytes; the limit is {max_bytes}")]
    TooLarge {
        /// The limit.
        max_bytes: usize,
        /// What was sent.
        actual_bytes: usize,
    },
    /// Body empty.
    #[error("command body is empty")]
    Empty,
    /// Not valid JSON (syntax, encoding, truncated).
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// A value outside the JSON body (an aggregate id on the command line) is invalid.
    #[error("invalid {field}: {error}")]
    Value {
        /// What the value is (`aggregate_id`).
        field: String,
        /// Why it was refused.
        error: domain::values::ValueError,
    },
    /// A body field that must repeat the aggregate id names another
    /// (a claim's `claim_id`).
    #[error("field `{field}` is `{value}` but the command is sent to `{aggregate_id}`; they must be the same")]
    IdMismatch {
        /// Dotted path of the field (`Submit.claim_id`).
        field: String,
        /// What the field says.
        value: String,
        /// The aggregate id the command is sent to.
        aggregate_id: String,
    },
    /// The body names a command the aggregate does not have.
    #[error("unknown command {name} (known: {known})")]
    UnknownCommand {
        /// What the body named (capped at 64 characters).
        name: String,
        /// The aggregate's commands, comma-separated.
        known: String,
    },
    /// Required fields absent (all of those of the first incomplete object).
    #[error("missing fields: {}", fields.join(", "))]
    Missing {
        /// The first of them (the problem's `field`).
        field: String,
        /// Each with its full path (`OpenFile.household.head.phone`).
        fields: Vec<String>,
    },
    /// Valid JSON whose content is wrong: unknown or missing field, wrong type, bad value.
    #[error("invalid field `{field}`: {message}")]
    Field {
        /// Dotted path of the offending field (`household.head.resident_id`), `.` for the root.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ErrorCode for InputError {
    fn code(&self) -> &'static str {
        match self {
            InputError::TooLarge { .. } => "input.too_large",
            InputError::Empty => "input.empty",
            InputError::Syntax { .. } => "input.malformed_json",
            InputError::Field { .. } => "input.invalid_field",
            InputError::Value { .. } => "input.invalid_value",
            InputError::IdMismatch { .. } => "input.id_mismatch",
            InputError::UnknownCommand { .. } => "input.unknown_command",
            InputError::Missing { .. } => "input.invalid_field",
        }
    }
}

impl Localize for InputError {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (
                InputError::TooLarge {
                    max_bytes,
                    actual_bytes,
                },
                Lang::Zh,
            ) => {
                format!("命令内容过大：{actual_bytes} 字节，上限 {max_bytes} 字节")
            }
            (InputError::Empty, Lang::Zh) => "命令内容为空".into(),
            (
                InputError::Syntax {
                    line,
                    column,
                    message,
                },
                Lang::Zh,
            ) => {
                format!(
                    "JSON 格式错误（第 {line} 行第 {column} 列）：{}",
                    translate_serde(message, lang)
                )
            }
            (
                InputError::IdMismatch {
                    field,
                    value,
                    aggregate_id,
                },
                Lang::Zh,
            ) => format!("字段 `{field}` 为 `{value}`，与命令发往的编号 `{aggregate_id}` 不一致"),
            (InputError::Field { field, message }, Lang::Zh) => {
                format!(
                    "字段 `{field}` 无效：{}",
                    translate_serde(&plain_types(field, message, lang), lang)
                )
            }
            (InputError::Field { field, message }, Lang::En) => {
                format!(
                    "invalid field `{field}`: {}",
                    plain_types(field, message, lang)
                )
            }
            (InputError::Missing { fields, .. }, Lang::Zh) => {
                format!("缺少字段：{}", fields.join("、"))
            }
            (InputError::UnknownCommand { name, known }, Lang::Zh) => {
                format!("未知命令 {name}（可用：{known}）")
            }
            (InputError::Value { field, error }, lang) => match lang {
                Lang::Zh => format!("`{field}` 无效：{}", error.localize(lang)),
                Lang::En => format!("invalid `{field}`: {}", error.localize(lang)),
            },
            (e, Lang::En) => e.to_string(),
        }
    }
}

/// serde names the Rust type it expected (`expected i64`, `expected u32`,
/// `expected struct Household`); people are told what to write instead. An
/// amount (`…_fen`) that is not a whole number says how amounts are given.
fn plain_types(field: &str, message: &str, lang: Lang) -> String {
    let is_amount = field.ends_with("_fen")
        && (message.starts_with("invalid type") || message.starts_with("invalid value"));
    if is_amount {
        return lang
            .pick(
                "金额应为以分为单位的非负整数（如 586000 表示 5860.00 元）",
                "an amount is a non-negative whole number of fen (586000 is 5,860.00 yuan)",
            )
            .to_string();
    }
    let Some((head, expected)) = message.rsplit_once(", expected ") else {
        return message.to_string();
    };
    let zh = lang == Lang::Zh;
    let plain = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
            if zh {
                "整数"
            } else {
                "a whole number"
            }
        }
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
            if zh {
                "非负整数"
            } else {
                "a non-negative whole number"
            }
        }
        "f32" | "f64" => {
            if zh {
                "数字"
            } else {
                "a number"
            }
        }
        "a boolean" => "true / false",
        "a sequence" => {
            if zh {
                "数组 [...]"
            } else {
                "a list [...]"
            }
        }
        "a formatted date string" => {
            if zh {
                "YYYY-MM-DD 格式的日期"
            } else {
                "a date as YYYY-MM-DD"
            }
        }
        "a string" | "a borrowed string" | "a character" => {
            if zh {
                "文本"
            } else {
                "text"
            }
        }
        e if e.starts_with("struct ") || e.starts_with("a map") || e.starts_with("map") => {
            if zh {
                "对象 {...}"
            } else {
                "an object {...}"
            }
        }
        e if e.starts_with("enum ") || e.contains(" variant") => {
            if zh {
                "取值"
            } else {
                "one of the documented values"
            }
        }
        _ => return message.to_string(),
    };
    // The head names what was sent (`invalid type: string "12.5"`); serde's
    // ", expected" becomes the translated shape in `translate_serde`.
    format!("{head}, expected {plain}")
}

/// serde's own messages are English; translate the common shapes for zh
/// readers and keep the specifics (field names, expected values) verbatim.
fn translate_serde(message: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return message.to_string();
    }
    const SHAPES: &[(&str, &str)] = &[
        ("unknown field", "未知字段"),
        ("missing field", "缺少字段"),
        ("unknown variant", "未知取值"),
        ("invalid type", "类型错误"),
        ("invalid value", "取值无效"),
        ("invalid length", "长度无效"),
        ("duplicate field", "字段重复"),
        ("expected value", "此处应为 JSON 值"),
        ("EOF while parsing", "JSON 不完整"),
        ("trailing characters", "JSON 之后有多余字符"),
        ("invalid unicode code point", "无效的 Unicode 字符"),
        ("control character", "含有控制字符"),
        ("key must be a string", "键必须是字符串"),
        ("invalid escape", "无效的转义字符"),
        ("invalid number", "数字无效"),
        ("number out of range", "数字超出范围"),
        ("premature end of input", "日期时间不完整"),
        (
            "input contains invalid characters",
            "日期格式无效（应为 YYYY-MM-DD）",
        ),
        ("input is out of range", "日期超出范围"),
    ];
    // Shapes whose remainder names fields or values (kept verbatim, with
    // serde's ", expected" turned into Chinese); for the others the remainder
    // is English prose and is dropped.
    const KEEP_REST: &[&str] = &[
        "unknown field",
        "missing field",
        "unknown variant",
        "invalid type",
        "invalid value",
        "invalid length",
        "duplicate field",
    ];
    for (en, zh) in SHAPES {
        if let Some(rest) = message.strip_prefix(en) {
            if KEEP_REST.contains(en) {
                let rest = rest
                    .replace(", expected one of", "，应为以下之一：")
                    .replace(", expected", "，应为")
                    .replace("floating point", "小数")
                    .replace("integer", "整数")
                    .replace("a string", "字符串")
                    .replace("string", "字符串");
                return format!("{zh}{rest}");
            }
            return zh.to_string();
        }
    }
    message.to_string()
}

/// Parses a command body into `T` as of the command's business date `today`
/// (values whose rules need "today", such as a resident ID's birth date, are
/// checked against it; see `domain::values::with_business_date`).
///
/// A body that lacks fields is refused naming every one of them, with its
/// full path, at once (`crate::app::required`, from the command's schema).
pub fn parse_command<T: DeserializeOwned + utoipa::ToSchema>(
    bytes: &[u8],
    today: chrono::NaiveDate,
) -> Result<T, InputError> {
    domain::values::with_business_date(today, || parse_json(bytes)).map_err(|e| match e {
        InputError::Missing { .. } => every_missing::<T>(bytes).unwrap_or(e),
        other => other,
    })
}

/// Every required field the body lacks, from the schema; `None` when the
/// schema finds none (serde's answer then stands).
fn every_missing<T: utoipa::ToSchema>(bytes: &[u8]) -> Option<InputError> {
    let body: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let fields = crate::app::required::missing_fields::<T>(&body);
    Some(InputError::Missing {
        field: fields.first()?.clone(),
        fields,
    })
}

/// Parses a command body into `T`, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    if bytes.len() > MAX_COMMAND_BYTES {
        return Err(InputError::TooLarge {
            max_bytes: MAX_COMMAND_BYTES,
            actual_bytes: bytes.len(),
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    match value {
        Ok(v) => {
            de.end().map_err(|e| syntax(&e))?;
            Ok(v)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                Err(syntax(&inner))
            } else if let Some(unknown) = unknown_command(&path, &inner.to_string()) {
                Err(unknown)
            } else if let Some(missing) = all_missing::<T>(bytes, &err_segments(&path))
                .filter(|_| inner.to_string().starts_with("missing field"))
            {
                Err(missing)
            } else {
                Err(InputError::Field {
                    field: path,
                    message: strip_position(&inner.to_string()),
                })
            }
        }
    }
}

/// The segments of a serde path (`OpenFile.household.members[0]`), `.` the root.
fn err_segments(path: &str) -> Vec<String> {
    if path == "." {
        return Vec::new();
    }
    path.split('.')
        .flat_map(|part| {
            let mut out = Vec::new();
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                out.push(rest[..i].to_string());
                rest = &rest[i..];
                for index in rest.split('[').filter(|x| !x.is_empty()) {
                    out.push(format!("[{}", index.trim_end_matches(']')));
                }
            } else {
                out.push(rest.to_string());
            }
            out
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The object at `segments` inside `value`.
fn object_at<'v>(
    value: &'v mut serde_json::Value,
    segments: &[String],
) -> Option<&'v mut serde_json::Map<String, serde_json::Value>> {
    let mut v = value;
    for seg in segments {
        v = match seg.strip_prefix('[') {
            Some(index) => v.get_mut(index.parse::<usize>().ok()?)?,
            None => v.get_mut(seg.as_str())?,
        };
    }
    v.as_object_mut()
}

const PROBE: &str = "__bangfu_probe__";

/// serde stops at the first missing field; people want all of them. For the
/// object serde stopped in (every command type refuses unknown fields), an
/// unknown probe key makes serde list the fields it knows; each one absent
/// is then tried as `null`: an optional field takes it, a required one is
/// refused at its own path — and is reported. Only on this error path.
fn all_missing<T: DeserializeOwned>(bytes: &[u8], at: &[String]) -> Option<InputError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let try_with = |key: &str| -> Option<(String, String)> {
        let mut v = value.clone();
        object_at(&mut v, at)?.insert(key.to_string(), serde_json::Value::Null);
        match serde_path_to_error::deserialize::<_, T>(&v) {
            Ok(_) => None,
            Err(e) => Some((e.path().to_string(), e.into_inner().to_string())),
        }
    };
    let (_, listed) = try_with(PROBE)?;
    // "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
    let known = listed
        .split_once(", expected ")?
        .1
        .trim_start_matches("one of ");
    let known = known.replace(" or ", ", ");
    let mut present = value.clone();
    let present: Vec<String> = object_at(&mut present, at)?.keys().cloned().collect();
    let prefix = if at.is_empty() {
        String::new()
    } else {
        format!("{}.", at.join(".").replace(".[", "["))
    };
    let missing: Vec<String> = known
        .split(", ")
        .map(|k| k.trim_matches('`').to_string())
        .filter(|k| !present.contains(k))
        .filter(|k| {
            try_with(k).is_some_and(|(path, message)| {
                path == format!("{prefix}{k}") && message.starts_with("invalid type: null")
            })
        })
        .map(|k| format!("{prefix}{k}"))
        .collect();
    let first = missing.first()?.clone();
    Some(InputError::Missing {
        field: first,
        fields: missing,
    })
}

/// A body `{"FooBar": …}` is an unknown command, not an "unknown variant"
/// of a field: serde reports it at the root (`.`) with the known names.
fn unknown_command(path: &str, message: &str) -> Option<InputError> {
    if path != "." {
        return None;
    }
    let rest = message.strip_prefix("unknown variant `")?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest
        .split_once("expected ")
        .map(|(_, k)| strip_position(k.trim_start_matches("one of ")).replace('`', ""))
        .unwrap_or_default();
    Some(InputError::UnknownCommand {
        name: name.chars().take(64).collect(),
        known,
    })
}

fn syntax(e: &serde_json::Error) -> InputError {
    InputError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        resident_id: domain::values::ResidentId,
        amount_fen: domain::values::Fen,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        head: Inner,
    }

    #[test]
    fn names_the_field_of_a_bad_value() {
        let err =
            parse_json::<Outer>(br#"{"head":{"resident_id":"110105194912310021","amount_fen":5}}"#)
                .unwrap_err();
        match &err {
            InputError::Field { field, .. } => assert_eq!(field, "head.resident_id"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.code(), "input.invalid_field");
        assert!(err.localize(Lang::Zh).contains("head.resident_id"));
    }

    #[test]
    fn refuses_unknown_fields_negative_and_fractional_amounts() {
        let id = "11010519491231002X";
        for (body, field) in [
            (
                format!(r#"{{"head":{{"resident_id":"{id}","amount_fen":5,"x":1}}}}"#),
                "head",
            ),
            (
                format!(r#"{{"head":{{"resident_id":"{id}","amount_fen":-5}}}}"#),
                "head.amount_fen",
            ),
            (
                format!(r#"{{"head":{{"resident_id":"{id}","amount_fen":5.5}}}}"#),
                "head.amount_fen",
            ),
        ] {
            match parse_json::<Outer>(body.as_bytes()) {
                Err(InputError::Field { field: f, message }) => {
                    assert!(f.starts_with(field), "{f} / {message}")
                }
                other => panic!("{body}: unexpected {other:?}"),
            }
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    enum Command {
        Open {
            head: Inner,
            count: u32,
            on: chrono::NaiveDate,
        },
    }

    #[test]
    fn messages_name_no_rust_types_and_unknown_commands_are_named() {
        let id = "11010519491231002X";
        for (body, zh, en) in [
            (
                format!(
                    r#"{{"Open":{{"head":{{"resident_id":"{id}","amount_fen":"12.5"}},"count":1,"on":"2026-01-01"}}}}"#
                ),
                "以分为单位",
                "whole number of fen",
            ),
            (
                format!(
                    r#"{{"Open":{{"head":{{"resident_id":"{id}","amount_fen":5}},"count":"x","on":"2026-01-01"}}}}"#
                ),
                "非负整数",
                "non-negative whole number",
            ),
            (
                format!(
                    r#"{{"Open":{{"head":{{"resident_id":"{id}","amount_fen":5}},"count":1,"on":5}}}}"#
                ),
                "YYYY-MM-DD",
                "YYYY-MM-DD",
            ),
            (
                r#"{"Open":{"head":[],"count":1,"on":"2026-01-01"}}"#.to_string(),
                "对象",
                "an object",
            ),
        ] {
            let err = parse_json::<Command>(body.as_bytes()).unwrap_err();
            let (z, e) = (err.localize(Lang::Zh), err.localize(Lang::En));
            assert!(z.contains(zh), "{z}");
            assert!(e.contains(en), "{e}");
            for rust in ["i64", "u32", "struct ", "formatted date string"] {
                assert!(!z.contains(rust) && !e.contains(rust), "{z} / {e}");
            }
        }
        let body = format!(r#"{{"Open":{{"head":{{"resident_id":"{id}","amount_fen":1}}}}}}"#);
        let err = parse_json::<Command>(body.as_bytes()).unwrap_err();
        assert_eq!(
            err.localize(Lang::En),
            "missing fields: Open.count, Open.on"
        );
        assert_eq!(err.code(), "input.invalid_field");
        let err = parse_json::<Command>(br#"{"Open":{"head":{},"count":1,"on":"2026-01-01"}}"#)
            .unwrap_err();
        assert_eq!(
            err.localize(Lang::Zh),
            "缺少字段：Open.head.resident_id、Open.head.amount_fen"
        );
        let err = parse_json::<Command>(br#"{"FooBar":{}}"#).unwrap_err();
        assert_eq!(err.code(), "input.unknown_command");
        assert_eq!(err.localize(Lang::Zh), "未知命令 FooBar（可用：Open）");
        assert_eq!(
            err.localize(Lang::En),
            "unknown command FooBar (known: Open)"
        );
    }

    #[test]
    fn syntax_errors_and_limits() {
        assert!(matches!(
            parse_json::<Outer>(b"{\"head\": "),
            Err(InputError::Syntax { .. })
        ));
        assert!(matches!(parse_json::<Outer>(b"  "), Err(InputError::Empty)));
        assert!(matches!(
            parse_json::<Outer>(b"{} x"),
            Err(InputError::Syntax { .. }) | Err(InputError::Field { .. })
        ));
        assert!(matches!(
            parse_json::<Outer>(&[0xff, 0xfe, b'{']),
            Err(InputError::Syntax { .. })
        ));
        let big = vec![b' '; MAX_COMMAND_BYTES + 1];
        assert!(matches!(
            parse_json::<Outer>(&big),
            Err(InputError::TooLarge { .. })
        ));
    }
}
