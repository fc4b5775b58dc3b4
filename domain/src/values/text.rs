//! Bounded text. Every free-text field has a limit, counted in characters
//! (Unicode scalar values, so one Chinese character counts as one):
//!
//! | type | limit | used for |
//! |---|---|---|
//! | [`PersonName`] | 1–50 | people's names |
//! | [`OrgName`] | 1–100 | units, unions, hospitals, organisations, campaign names |
//! | [`ShortText`] | 1–200 | diagnoses, reasons, purposes, relation, short notes |
//! | [`LongText`] | 1–4,000 | visit findings, review notes |
//! | [`Code`] | 1–64, `[A-Za-z0-9._/-]` | receipt numbers, references, policy versions |
//!
//! Text is trimmed (leading and trailing white space is not part of it).
//! Characters a reader cannot see or that change how the text around them
//! reads are refused, in every text type, by [`check_visible`]:
//!
//! - control characters (Unicode `Cc`, C0 and C1, NUL included). [`LongText`]
//!   alone may span lines: it accepts `\n`, `\t` and `\r` directly before
//!   `\n` (a pasted CRLF); a lone `\r` is refused;
//! - format characters (`Cf`): zero-width space, non-joiner and joiner, word
//!   joiner, byte-order mark, soft hyphen, bidi marks, embeddings, overrides
//!   and isolates (U+200E/F, U+202A–U+202E, U+2066–U+2069, U+061C), tag
//!   characters, interlinear annotation marks, …; line and paragraph
//!   separators (U+2028/U+2029); noncharacters (U+FFFE, U+FFFF, U+FDD0–U+FDEF);
//! - invisible fillers (U+034F, U+115F, U+1160, U+3164, U+FFA0) and variation
//!   selectors (U+FE00–U+FE0F, U+E0100–U+E01EF, Mongolian U+180B–U+180F).
//!
//! Emoji stay accepted, as people type them: U+FE0F/U+FE0E directly after an
//! emoji (❤️, 1️⃣), and the zero-width joiner *between* two emoji (👨‍👩‍👧, a ZWJ
//! sequence). Subdivision flags (🏴 + tag characters) are refused: tag
//! characters can hide text, and the flags are rare. Ideographic variation
//! sequences (U+E0100…) are refused too: none of the Chinese encodings a
//! union's records come from carries them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};

use super::ValueError;

/// The first character of `text` a reader would not see, or that changes how
/// the text around it reads (see the module documentation), as `Err(ValueError)`
/// naming `what` and the code point. `multiline` admits `\n`, `\t` and CRLF.
pub fn check_visible(text: &str, what: &'static str, multiline: bool) -> Result<(), ValueError> {
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        if c.is_control() {
            let line_break =
                multiline && (c == '\n' || c == '\t' || (c == '\r' && next == Some('\n')));
            if !line_break {
                return Err(ValueError::ControlCharacter { what });
            }
            continue;
        }
        if hidden(c, prev, next) {
            return Err(ValueError::InvisibleCharacter {
                what,
                code_point: u32::from(c),
            });
        }
    }
    Ok(())
}

/// Whether `c` (between `prev` and `next`) is invisible or direction-changing.
fn hidden(c: char, prev: Option<char>, next: Option<char>) -> bool {
    let emoji = |o: Option<char>| o.is_some_and(|p| p.is_emoji_char() && !p.is_ascii());
    match c {
        // Presentation selectors: part of an emoji (❤️, 1️⃣) when right after one.
        '\u{FE0E}' | '\u{FE0F}' => !prev.is_some_and(UnicodeEmoji::is_emoji_char),
        // Zero-width joiner: only inside an emoji ZWJ sequence.
        '\u{200D}' => {
            let component = |p: char| !p.is_ascii() && p.is_emoji_component() && p != '\u{200D}';
            let after_emoji = emoji(prev) || prev.is_some_and(component);
            !(after_emoji && emoji(next))
        }
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => true,
        '\u{FE00}'..='\u{FE0D}' | '\u{E0100}'..='\u{E01EF}' | '\u{180B}'..='\u{180F}' => true,
        '\u{FDD0}'..='\u{FDEF}' => true,
        _ if (u32::from(c) & 0xFFFE) == 0xFFFE => true,
        _ => matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        ),
    }
}

fn check(s: &str, what: &'static str, max: usize, multiline: bool) -> Result<String, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::Empty { what });
    }
    let n = t.chars().count();
    if n > max {
        return Err(ValueError::TooLong {
            what,
            max_chars: max,
            actual_chars: n,
        });
    }
    check_visible(t, what, multiline)?;
    Ok(t.to_string())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $multiline:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted text, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims and checks `s`.
            pub fn parse(s: &str) -> Result<$name, ValueError> {
                check(s, $what, $max, $multiline).map($name)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
}

bounded_text!(
    /// A person's name, 1–50 characters.
    PersonName, "person name", 50, false
);
bounded_text!(
    /// A unit, union, hospital or organisation name, 1–100 characters.
    OrgName, "organisation name", 100, false
);
bounded_text!(
    /// A short single-line text, 1–200 characters.
    ShortText, "short text", 200, false
);
bounded_text!(
    /// A long text such as visit findings, 1–4,000 characters; may span lines.
    LongText, "long text", 4000, true
);

/// An identifier-like code: 1–64 characters of `A–Z a–z 0–9 . _ / -`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    /// Longest accepted code.
    pub const MAX_CHARS: usize = 64;

    /// Checks `s`.
    pub fn parse(s: &str) -> Result<Code, ValueError> {
        let t = check(s, "code", Self::MAX_CHARS, false)?;
        if !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
        {
            return Err(ValueError::BadFormat {
                what: "code",
                expected: "letters, digits and . _ / -",
            });
        }
        Ok(Code(t))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an aggregate id looks like, in the words of [`ValueError::BadFormat`].
pub const AGGREGATE_ID_RULE: &str =
    "1 to 64 letters, digits and . _ / - exactly as given (no spaces), with no empty, . or .. part between slashes";

/// The aggregate id rule: a [`Code`] exactly as given — nothing trimmed, since
/// the id is stored as sent and another spelling would be another stream —
/// whose `/`-separated parts are neither empty nor `.`/`..` (an id is also
/// a path segment of the API and may name a file).
pub fn check_aggregate_id(id: &str) -> Result<(), ValueError> {
    const WHAT: &str = "aggregate id";
    let bad = || ValueError::BadFormat {
        what: WHAT,
        expected: AGGREGATE_ID_RULE,
    };
    if id.is_empty() {
        return Err(ValueError::Empty { what: WHAT });
    }
    if id.trim() != id {
        return Err(bad());
    }
    let code = Code::parse(id).map_err(|e| match e {
        ValueError::BadFormat { .. } => bad(),
        ValueError::TooLong {
            max_chars,
            actual_chars,
            ..
        } => ValueError::TooLong {
            what: WHAT,
            max_chars,
            actual_chars,
        },
        ValueError::ControlCharacter { .. } => ValueError::ControlCharacter { what: WHAT },
        ValueError::InvisibleCharacter { code_point, .. } => ValueError::InvisibleCharacter {
            what: WHAT,
            code_point,
        },
        other => other,
    })?;
    if code
        .as_str()
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(bad());
    }
    Ok(())
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        let fifty = "张".repeat(50);
        assert!(PersonName::parse(&fifty).is_ok());
        let err = PersonName::parse(&"张".repeat(51)).unwrap_err();
        assert_eq!(
            err,
            ValueError::TooLong {
                what: "person name",
                max_chars: 50,
                actual_chars: 51
            }
        );
    }

    #[test]
    fn trims_and_refuses_empty_and_control() {
        assert_eq!(PersonName::parse("  王芳 ").unwrap().as_str(), "王芳");
        assert_eq!(
            PersonName::parse("   "),
            Err(ValueError::Empty {
                what: "person name"
            })
        );
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(ShortText::parse("a\nb").is_err());
        assert!(LongText::parse("line one\nline two").is_ok());
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_refused_everywhere() {
        for bad in [
            "王\u{200B}芳",
            "王\u{200C}芳",
            "王\u{200D}芳",
            "\u{2060}王芳",
            "\u{FEFF}王芳",
            "王芳\u{200E}x",
            "王芳\u{200F}x",
            "a\u{202A}b",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{2069}b",
            "a\u{061C}b",
            "a\u{00AD}b",
            "a\u{E0041}b",
            "a\u{FE0F}b",
            "王\u{E0100}芳",
            "a\u{2028}b",
            "a\u{3164}b",
            "a\u{FFFF}b",
            "a\u{1F600}\u{200D}",
            "\u{200D}\u{1F600}",
            "1\u{200D}\u{1F600}",
        ] {
            for multiline in [false, true] {
                assert!(
                    matches!(
                        check_visible(bad, "short text", multiline),
                        Err(ValueError::InvisibleCharacter { .. })
                    ),
                    "{bad:?} accepted"
                );
            }
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
            assert!(OrgName::parse(bad).is_err(), "{bad:?}");
            assert!(ShortText::parse(bad).is_err(), "{bad:?}");
            assert!(LongText::parse(bad).is_err(), "{bad:?}");
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
        let err = ShortText::parse("a\u{202E}b").unwrap_err();
        assert!(err.to_string().contains("U+202E"), "{err}");
    }

    #[test]
    fn controls_are_refused_and_long_text_keeps_its_lines() {
        for bad in [
            "a\u{0}b",
            "a\u{7}b",
            "a\u{1B}[31mb",
            "a\u{85}b",
            "a\u{9B}b",
            "a\rb",
        ] {
            assert!(
                matches!(
                    LongText::parse(bad),
                    Err(ValueError::ControlCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        for bad in ["a\nb", "a\tb", "a\r\nb"] {
            assert!(ShortText::parse(bad).is_err(), "{bad:?}");
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["a\nb", "a\tb", "第一行\r\n第二行"] {
            assert!(LongText::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn chinese_latin_and_emoji_stay_accepted() {
        for good in [
            "王芳",
            "歐陽詩涵",
            "Zoë O'Brien-Łukasz",
            "困难职工 👍",
            "❤\u{FE0F} 谢谢",
            "1\u{FE0F}\u{20E3}",
            "一家 👨\u{200D}👩\u{200D}👧",
            "👍🏽",
            "🇨🇳",
            "全角　空格",
        ] {
            assert!(ShortText::parse(good).is_ok(), "{good:?}");
            assert!(LongText::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn aggregate_ids_are_checked_exactly_as_given() {
        for good in ["F-1", "putian/2026", "a.b", "x..y", "..a"] {
            assert_eq!(check_aggregate_id(good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            " F-1",
            "F-1 ",
            "F-1\n",
            ".",
            "..",
            "a/..",
            "./a",
            "a//b",
            "/a",
            "a/",
            "F\u{200B}1",
            "Ｆ-１",
            "F 1",
        ] {
            assert!(check_aggregate_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_aggregate_id(&"a".repeat(65)).is_err());
    }

    #[test]
    fn codes() {
        assert!(Code::parse("RCPT-2026/0001").is_ok());
        assert!(Code::parse("收据1").is_err());
        assert!(Code::parse(&"a".repeat(65)).is_err());
    }
}
