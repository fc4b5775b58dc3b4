//! Every required field a command body lacks, found by walking the body
//! against the command's OpenAPI schema (the same document `/openapi.json`
//! serves, derived from the types by utoipa).
//!
//! serde stops at the first object with a missing field; `input` lists that
//! object's missing fields by probing serde, but a body that also lacks a
//! field elsewhere (`OpenFile.household.head.name` *and* `OpenFile.opened_on`)
//! would need a second attempt to learn the rest. The schema knows every
//! object's required fields at once, so the walk reports them together.

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// How deep the walk goes: the domain's types nest a few levels; a
/// self-referencing schema must not recurse without end.
const MAX_DEPTH: usize = 32;

/// The paths (`OpenFile.household.head.name`, `…members[0].name`) of every
/// required field `body` lacks, in document order; empty when the schema
/// cannot tell (then the caller keeps serde's answer).
pub fn missing_fields<T: ToSchema>(body: &Value) -> Vec<String> {
    let mut named = Vec::new();
    T::schemas(&mut named);
    let mut defs = Map::new();
    for (name, schema) in named {
        if let Ok(schema) = serde_json::to_value(schema) {
            defs.insert(name, schema);
        }
    }
    let Ok(root) = serde_json::to_value(T::schema()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&Walk { defs: &defs }, &root, body, "", 0, &mut out);
    out
}

struct Walk<'a> {
    defs: &'a Map<String, Value>,
}

impl Walk<'_> {
    /// The schema a `$ref` names, or the schema itself.
    fn resolve<'s>(&'s self, schema: &'s Value) -> Option<&'s Value> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next()?;
                self.defs.get(name)
            }
            None => Some(schema),
        }
    }
}

fn walk(
    w: &Walk<'_>,
    schema: &Value,
    value: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(schema) = w.resolve(schema) else {
        return;
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            walk(w, part, value, path, depth + 1, out);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema.get(key).and_then(Value::as_array) {
            if let Some(choice) = choose(w, choices, value) {
                walk(w, choice, value, path, depth + 1, out);
            }
        }
    }
    if let (Some(items), Some(elements)) = (schema.get("items"), value.as_array()) {
        for (i, element) in elements.iter().enumerate() {
            walk(w, items, element, &format!("{path}[{i}]"), depth + 1, out);
        }
    }
    let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !object.contains_key(required) {
            out.push(join(required));
        }
    }
    for (key, field) in object {
        if let Some(property) = properties.get(key) {
            walk(w, property, field, &join(key), depth + 1, out);
        }
    }
}

/// The alternative of a `oneOf` the value is written as: for an object, the
/// one whose properties include every key it has (an externally tagged
/// variant `{"OpenFile": …}` has exactly that one property). Nothing for
/// other values: strings, numbers and null have no fields to miss.
fn choose<'s>(w: &'s Walk<'_>, choices: &'s [Value], value: &Value) -> Option<&'s Value> {
    let object = value.as_object()?;
    choices.iter().find(|choice| {
        w.resolve(choice)
            .and_then(|c| c.get("properties"))
            .and_then(Value::as_object)
            .is_some_and(|properties| object.keys().all(|k| properties.contains_key(k)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::hardship::HardshipFileCommand;
    use serde_json::json;

    #[test]
    fn every_missing_field_of_a_body_is_found_at_once_with_its_path() {
        let body = json!({"OpenFile": {"household": {
            "head": {"resident_id": "350304197804123123", "phone": "13905941234",
                     "employer_unit": "x", "grassroots_union": "y",
                     "migrant_worker": true, "mobile_member": false},
            "members": [{"relation": "spouse", "birth_year": 1980,
                         "health": "healthy", "schooling": "none"}],
            "monthly_income_per_capita_fen": 1, "local_minimum_standard_fen": 2,
            "causes": ["illness"]}}});
        let missing = missing_fields::<HardshipFileCommand>(&body);
        assert_eq!(
            missing,
            vec![
                "OpenFile.opened_on",
                "OpenFile.household.head.name",
                "OpenFile.household.members[0].name",
            ]
        );
    }

    #[test]
    fn a_complete_body_lacks_nothing() {
        let body = serde_json::to_value(domain::hardship::sample_open_file()).unwrap();
        assert_eq!(
            missing_fields::<HardshipFileCommand>(&body),
            Vec::<String>::new()
        );
    }
}
