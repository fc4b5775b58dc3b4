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
//! Text is trimmed; control characters are refused (newlines and tabs are
//! allowed in [`LongText`] only).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::ValueError;

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
    if t.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(ValueError::ControlCharacter { what });
    }
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
    fn codes() {
        assert!(Code::parse("RCPT-2026/0001").is_ok());
        assert!(Code::parse("收据1").is_err());
        assert!(Code::parse(&"a".repeat(65)).is_err());
    }
}
