//! Personal identifiers: resident ID (身份证号), bank card, mainland mobile.
//!
//! These are personal information under PIPL. Their `Debug` and `Display` show
//! only the masked form, so one slipping into a log or a panic message leaks
//! nothing; the full value is reached only through `expose()`, on purpose.
//! Serialization (events, API bodies for roles that may see them) carries the
//! full value.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

fn mask(s: &str, head: usize, tail: usize) -> String {
    let n = s.chars().count();
    if n <= head + tail {
        return "*".repeat(n);
    }
    let mut out: String = s.chars().take(head).collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(s.chars().skip(n - tail));
    out
}

macro_rules! personal_serde {
    ($t:ident) => {
        personal_serde!($t, $t::parse);
    };
    ($t:ident, $parse:path) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.masked())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
        impl std::str::FromStr for $t {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
    };
}

/// An 18-character PRC resident identity number (GB 11643-1999): 6-digit region,
/// 8-digit birth date, 3-digit sequence, ISO 7064 MOD 11-2 check character.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId(String);

const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

impl ResidentId {
    /// Parses and checks an ID number; a trailing lowercase `x` is normalised to `X`.
    pub fn parse(s: &str) -> Result<ResidentId, ValueError> {
        const WHAT: &str = "resident ID";
        let s = s.trim();
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
        {
            return Err(ValueError::BadFormat {
                what: WHAT,
                expected: "18 characters: 17 digits then a digit or X",
            });
        }
        let province = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(ValueError::BadRegion);
        }
        let num = |r: std::ops::Range<usize>| -> u32 {
            bytes[r]
                .iter()
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let (y, m, d) = (num(6..10) as i32, num(10..12), num(12..14));
        if !(1900..=2099).contains(&y) || NaiveDate::from_ymd_opt(y, m, d).is_none() {
            return Err(ValueError::BadBirthDate);
        }
        if Self::check_char(&bytes[..17]) != bytes[17].to_ascii_uppercase() {
            return Err(ValueError::BadCheckDigit { what: WHAT });
        }
        Ok(ResidentId(s.to_ascii_uppercase()))
    }

    /// [`ResidentId::parse`], and when a command is being parsed (inside
    /// [`super::with_business_date`]) a birth date not after that day: the
    /// holder of an ID must have been born. Deserialization goes through this.
    pub fn parse_in_command(s: &str) -> Result<ResidentId, ValueError> {
        let id = ResidentId::parse(s)?;
        match super::business_date() {
            Some(today) => id.born_by(today),
            None => Ok(id),
        }
    }

    /// `self` if its holder was born on or before `today`.
    pub fn born_by(self, today: NaiveDate) -> Result<ResidentId, ValueError> {
        let birth_date = self.birth_date();
        if birth_date > today {
            return Err(ValueError::BornInFuture { birth_date });
        }
        Ok(self)
    }

    /// The GB 11643 check character for the first 17 digits.
    pub fn check_char(first17: &[u8]) -> u8 {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = first17
            .iter()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        CHECK[(sum % 11) as usize]
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        let b = self.0.as_bytes();
        let num = |r: std::ops::Range<usize>| -> u32 {
            b[r].iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
        };
        // Checked in `parse`.
        NaiveDate::from_ymd_opt(num(6..10) as i32, num(10..12), num(12..14)).unwrap_or_default()
    }

    /// `3501**********1234`.
    pub fn masked(&self) -> String {
        mask(&self.0, 4, 4)
    }

    /// The full number. Call only where the reader may see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
personal_serde!(ResidentId, ResidentId::parse_in_command);

/// A bank card number: 12 to 19 digits with a valid Luhn check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BankCard(String);

impl BankCard {
    /// Parses a card number; spaces and hyphens between digit groups are dropped.
    pub fn parse(s: &str) -> Result<BankCard, ValueError> {
        const WHAT: &str = "bank card";
        let digits: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::BadFormat {
                what: WHAT,
                expected: "12 to 19 digits",
            });
        }
        if !luhn_valid(&digits) {
            return Err(ValueError::BadCheckDigit { what: WHAT });
        }
        Ok(BankCard(digits))
    }

    /// `6222*********1234`.
    pub fn masked(&self) -> String {
        mask(&self.0, 4, 4)
    }

    /// The full number. Call only where the reader may see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
personal_serde!(BankCard);

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A mainland China mobile number: 11 digits starting `13`–`19`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Parses a number; spaces, hyphens and a `+86`/`86` prefix are dropped.
    pub fn parse(s: &str) -> Result<MobileNumber, ValueError> {
        let compact: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let local = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| {
                if compact.len() == 13 {
                    compact.strip_prefix("86")
                } else {
                    None
                }
            })
            .unwrap_or(&compact);
        let b = local.as_bytes();
        if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) || b[0] != b'1' || b[1] < b'3' {
            return Err(ValueError::BadFormat {
                what: "mobile number",
                expected: "11 digits starting 13–19",
            });
        }
        Ok(MobileNumber(local.to_string()))
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }

    /// The full number. Call only where the reader may see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
personal_serde!(MobileNumber);

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid ID for tests: region 350102, born 1980-05-01, sequence 123.
    pub(crate) fn valid_id(first17: &str) -> String {
        let c = ResidentId::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn a_birth_date_after_the_business_date_is_refused_in_commands_only() {
        let id = valid_id("35010220300101123");
        let before = NaiveDate::from_ymd_opt(2029, 12, 31).unwrap();
        let on = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        assert!(ResidentId::parse(&id).is_ok(), "no today, no check");
        let json = format!("\"{id}\"");
        let parsed =
            crate::values::with_business_date(before, || serde_json::from_str::<ResidentId>(&json));
        assert!(parsed.unwrap_err().to_string().contains("2030-01-01"));
        let parsed =
            crate::values::with_business_date(on, || serde_json::from_str::<ResidentId>(&json));
        assert!(parsed.is_ok());
        assert!(serde_json::from_str::<ResidentId>(&json).is_ok());
        assert_eq!(
            ResidentId::parse(&id).unwrap().born_by(before),
            Err(ValueError::BornInFuture { birth_date: on })
        );
    }

    #[test]
    fn resident_id_accepts_valid_and_normalises_x() {
        // Well-known GB 11643 example.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.expose(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(ResidentId::parse("11010519491231002x").unwrap(), id);
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "ResidentId(1101**********002X)");
        let s = valid_id("35010219800501123");
        assert!(ResidentId::parse(&s).is_ok());
    }

    #[test]
    fn resident_id_refusals_name_the_problem() {
        let good = valid_id("35010219800501123");
        let mut bad_check = good.clone();
        let last = bad_check.pop().unwrap();
        bad_check.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            ResidentId::parse(&bad_check),
            Err(ValueError::BadCheckDigit {
                what: "resident ID"
            })
        );
        assert!(matches!(
            ResidentId::parse("3501021980050112"),
            Err(ValueError::BadFormat { .. })
        ));
        assert!(matches!(
            ResidentId::parse("35010219800501123A"),
            Err(ValueError::BadFormat { .. })
        ));
        assert_eq!(
            ResidentId::parse(&valid_id("35010219801301123")),
            Err(ValueError::BadBirthDate)
        );
        assert_eq!(
            ResidentId::parse(&valid_id("35010218000101123")),
            Err(ValueError::BadBirthDate)
        );
        assert_eq!(
            ResidentId::parse(&valid_id("99010219800501123")),
            Err(ValueError::BadRegion)
        );
    }

    #[test]
    fn bank_card_luhn() {
        let card = BankCard::parse("6222 0212 3456 7890 128").unwrap_or_else(|_| {
            // compute a valid last digit for the test prefix
            let prefix = "622202123456789012";
            let d = (0..10)
                .find(|d| luhn_valid(&format!("{prefix}{d}")))
                .unwrap();
            BankCard::parse(&format!("{prefix}{d}")).unwrap()
        });
        assert!(luhn_valid(card.expose()));
        assert!(card.masked().starts_with("6222") && card.masked().contains('*'));
        assert!(BankCard::parse("4111111111111111").is_ok());
        assert_eq!(
            BankCard::parse("4111111111111112"),
            Err(ValueError::BadCheckDigit { what: "bank card" })
        );
        assert!(matches!(
            BankCard::parse("41111"),
            Err(ValueError::BadFormat { .. })
        ));
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(
            MobileNumber::parse("+86 138-0013-8000").unwrap().expose(),
            "13800138000"
        );
        assert_eq!(
            MobileNumber::parse("13800138000").unwrap().masked(),
            "138****8000"
        );
        assert!(MobileNumber::parse("12800138000").is_err());
        assert!(MobileNumber::parse("1380013800").is_err());
        assert!(MobileNumber::parse("0591-12345678").is_err());
    }

    #[test]
    fn serde_goes_through_parse() {
        assert!(serde_json::from_str::<ResidentId>("\"11010519491231002X\"").is_ok());
        let err = serde_json::from_str::<ResidentId>("\"110105194912310021\"").unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
