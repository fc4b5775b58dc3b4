//! Masking personal data in response bodies for roles that do not need it.
//!
//! Rather than list the fields that hold personal data (a list that would go
//! stale as events and states grow), every string and object key in a JSON
//! document is scanned for runs of digits that *parse* as a resident ID, a
//! mobile number or a bank card, and each such run is replaced by the type's
//! own masked form (`3501**********1234`). Parsing checks the check digits, so
//! ordinary numbers are left alone; a code that happens to look like a card
//! number is masked too, which errs on the safe side.

use domain::values::{BankCard, MobileNumber, ResidentId};
use serde_json::{Map, Value};

/// Masks every personal identifier in `value`, in place.
pub fn mask_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(masked) = mask_text(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            let needs_key_masking = map.keys().any(|k| mask_text(k).is_some());
            if needs_key_masking {
                let old = std::mem::take(map);
                let mut new = Map::with_capacity(old.len());
                for (k, mut v) in old {
                    mask_json(&mut v);
                    new.insert(mask_text(&k).unwrap_or(k), v);
                }
                *map = new;
            } else {
                map.values_mut().for_each(mask_json);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `s` with its personal identifiers masked, or `None` if it holds none.
pub fn mask_text(s: &str) -> Option<String> {
    // Cheap exit for the common case: no run long enough to be an identifier.
    let mut longest = 0;
    let mut run = 0;
    for b in s.bytes() {
        if b.is_ascii_digit() || b == b'X' || b == b'x' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    if longest < 11 {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == 'X' || c == 'x'))
            .unwrap_or(rest.len());
        let candidate = &rest[..end];
        match masked_identifier(candidate) {
            Some(masked) => {
                out.push_str(&masked);
                changed = true;
            }
            None => out.push_str(candidate),
        }
        rest = &rest[end..];
    }
    changed.then_some(out)
}

fn masked_identifier(run: &str) -> Option<String> {
    match run.len() {
        18 => ResidentId::parse(run).ok().map(|id| id.masked()),
        11 => MobileNumber::parse(run).ok().map(|m| m.masked()),
        12..=19 if run.bytes().all(|b| b.is_ascii_digit()) => {
            BankCard::parse(run).ok().map(|c| c.masked())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_identifiers_in_values_keys_and_inside_text() {
        let id = "11010519491231002X";
        let mut doc = serde_json::json!({
            "member": id,
            "phone": "13800138000",
            "card": "6222021234567890128",
            "stay": format!("{id}:2026-03-01"),
            "roster": { id: {"name": "张伟"} },
            "amount_fen": 110105194912310021_i64,
            "receipt": "R-2026-0001",
        });
        mask_json(&mut doc);
        let text = doc.to_string();
        assert!(!text.contains(id), "{text}");
        assert!(!text.contains("13800138000"), "{text}");
        assert!(text.contains("1101**********002X"), "{text}");
        assert!(text.contains("R-2026-0001"));
        assert!(text.contains("110105194912310021"), "numbers are not text");
    }

    #[test]
    fn leaves_ordinary_numbers_alone() {
        assert_eq!(mask_text("第7期 共13805人"), None);
        assert_eq!(mask_text("12345678901234567890123"), None);
    }
}
