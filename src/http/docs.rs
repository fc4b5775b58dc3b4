//! `/docs`: the API document as one readable HTML page, rendered on the
//! server from the same OpenAPI document `/openapi.json` serves (so the two
//! cannot disagree) plus the permission matrix from [`crate::access::permissions`].
//!
//! No script and nothing fetched from elsewhere: the machines bangfu runs on
//! may have no internet, and a page that works from a file is easy to audit.
//! It reads on a phone: a viewport, text that wraps, and every table
//! scrolling sideways inside its own box. Each command shows an example body
//! ([`super::examples`]), and the limits are stated as numbers.

use std::fmt::Write;

use serde_json::Value;

use super::Limits;
use crate::access::permissions;
use crate::access::users::ROLES;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A one-line description of a schema's type, linking named schemas.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = schema_name(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = schema.get(combinator).and_then(Value::as_array) {
            let parts: Vec<String> = items.iter().map(type_of).collect();
            return parts.join(" | ");
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => String::new(),
    };
    if ty.contains("array") {
        if let Some(items) = schema.get("items") {
            return format!("[{}]", type_of(items));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
            .collect();
        return names.join(" | ");
    }
    let mut out = esc(&ty);
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        let _ = write!(out, " ({})", esc(f));
    }
    out
}

fn limits_of(schema: &Value) -> String {
    let mut parts = Vec::new();
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("pattern", "pattern"),
    ] {
        if let Some(v) = schema.get(key) {
            parts.push(format!("{label} {}", esc(&v.to_string())));
        }
    }
    parts.join(", ")
}

fn properties_table(out: &mut String, schema: &Value) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str(
        "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
    );
    for (name, prop) in props {
        let description = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let limits = limits_of(prop);
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(name),
            type_of(prop),
            if required.contains(&name.as_str()) {
                "✓"
            } else {
                ""
            },
            esc(description),
            if limits.is_empty() {
                String::new()
            } else {
                format!(" <small>({limits})</small>")
            }
        );
    }
    out.push_str("</table>");
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(out, "<section id=\"schema-{0}\"><h3>{0}</h3>", esc(name));
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = write!(out, "<p>{}</p>", esc(d));
    }
    let variants = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array);
    match variants {
        Some(variants) => {
            out.push_str("<p>One of:</p><ul>");
            for variant in variants {
                // Externally tagged enums: an object with one property, the variant.
                let single = variant
                    .get("properties")
                    .and_then(Value::as_object)
                    .filter(|p| p.len() == 1);
                match single {
                    Some(props) => {
                        for (tag, body) in props {
                            let _ = write!(out, "<li><code>{{\"{}\": …}}</code>", esc(tag));
                            if let Some(d) = body
                                .get("description")
                                .or_else(|| variant.get("description"))
                                .and_then(Value::as_str)
                            {
                                let _ = write!(out, " — {}", esc(d));
                            }
                            properties_table(out, body);
                            out.push_str("</li>");
                        }
                    }
                    None => {
                        let _ = write!(out, "<li>{}", type_of(variant));
                        if let Some(d) = variant.get("description").and_then(Value::as_str) {
                            let _ = write!(out, " — {}", esc(d));
                        }
                        properties_table(out, variant);
                        out.push_str("</li>");
                    }
                }
            }
            out.push_str("</ul>");
        }
        None => {
            let limits = limits_of(schema);
            let _ = write!(out, "<p>Type: {}", type_of(schema));
            if !limits.is_empty() {
                let _ = write!(out, " <small>({limits})</small>");
            }
            out.push_str("</p>");
            properties_table(out, schema);
        }
    }
    out.push_str("</section>");
}

fn mark(allowed: bool) -> &'static str {
    if allowed {
        "✓"
    } else {
        "—"
    }
}

/// The permission matrix as an HTML table.
fn permission_matrix(out: &mut String) {
    out.push_str("<h2 id=\"permissions\">权限矩阵 Permission matrix</h2>");
    out.push_str(
        "<p>✓ allowed, — 403. Four-eyes (nobody approves what they requested or assessed) is \
         enforced by the aggregates for every role, admin included. Personal data is unmasked \
         only for caseworker, approver and finance.</p><table><tr><th>endpoint</th>",
    );
    for role in ROLES {
        let _ = write!(out, "<th>{}</th>", role.as_str());
    }
    out.push_str("</tr>");
    for (endpoint, allowed) in permissions::matrix() {
        let _ = write!(out, "<tr><td><code>{}</code></td>", esc(&endpoint));
        for role in ROLES {
            let _ = write!(out, "<td>{}</td>", mark(allowed.contains(&role)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// The limits a client must stay within, as numbers.
fn limits_section(out: &mut String, limits: &Limits) {
    use domain::values::{Code, LongText, OrgName, PersonName, ShortText};
    out.push_str("<h2 id=\"limits\">限制 Limits</h2><table><tr><th>what</th><th>limit</th></tr>");
    let rows: [(&str, String); 15] = [
        (
            "request body 请求体",
            format!("{} bytes", limits.max_body_bytes),
        ),
        (
            "user-management body 用户管理请求体",
            format!("{} bytes", super::users::MAX_USER_BODY_BYTES),
        ),
        (
            "page size (default) 每页默认条数",
            limits.default_page_size.to_string(),
        ),
        (
            "page size (max) 每页最多条数",
            limits.max_page_size.to_string(),
        ),
        (
            "requests at once 并发请求",
            limits.max_concurrent_requests.to_string(),
        ),
        (
            "queue wait, then 503 + Retry-After 排队等待上限",
            format!("{} ms", limits.queue_wait.as_millis()),
        ),
        (
            "request header: size 请求头大小",
            format!("{} bytes", limits.max_header_bytes),
        ),
        (
            "request header: read timeout, also idle keep-alive 请求头读取超时（亦为空闲连接上限）",
            format!("{} s", limits.header_read_timeout.as_secs()),
        ),
        (
            "request timeout 请求超时",
            format!("{} s", limits.request_timeout.as_secs()),
        ),
        (
            "view wait (min_position) 视图等待",
            format!("{} s", limits.view_wait.as_secs()),
        ),
        (
            "person name 姓名",
            format!("{} characters", PersonName::MAX_CHARS),
        ),
        (
            "organisation name 单位名称",
            format!("{} characters", OrgName::MAX_CHARS),
        ),
        (
            "short text 短文本",
            format!("{} characters", ShortText::MAX_CHARS),
        ),
        (
            "long text (findings) 长文本",
            format!("{} characters", LongText::MAX_CHARS),
        ),
        (
            "ids and codes 编号",
            format!("{} characters of A–Z a–z 0–9 . _ / -", Code::MAX_CHARS),
        ),
    ];
    for (what, limit) in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(what),
            esc(&limit)
        );
    }
    let _ = write!(
        out,
        "<tr><td>Idempotency-Key</td><td>{} bytes</td></tr></table>",
        super::idempotency::MAX_KEY_BYTES
    );
}

/// A request body's named examples, each folded under its name.
fn examples(out: &mut String, content: &Value) {
    let Some(examples) = content["examples"].as_object() else {
        return;
    };
    for (name, example) in examples {
        let pretty = serde_json::to_string_pretty(&example["value"]).unwrap_or_default();
        let _ = write!(
            out,
            "<details><summary>Example 示例: <code>{}</code></summary><pre>{}</pre></details>",
            esc(name),
            esc(&pretty)
        );
    }
}

/// The docs page for `openapi`, stating the default limits.
pub fn render(openapi: &utoipa::openapi::OpenApi) -> String {
    render_with(openapi, &Limits::default())
}

/// The docs page for `openapi`, stating `limits` (the server's own).
pub fn render_with(openapi: &utoipa::openapi::OpenApi, limits: &Limits) -> String {
    let doc = serde_json::to_value(openapi).unwrap_or_default();
    let mut out = String::with_capacity(256 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("bangfu API");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;line-height:1.45;overflow-wrap:break-word}}\
         table{{border-collapse:collapse;margin:.5rem 0;display:block;max-width:100%;overflow-x:auto}}\
         td,th{{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top;text-align:left}}\
         code{{background:#f4f4f4;padding:0 .2rem}}.op{{border-top:1px solid #ddd;margin-top:1rem}}\
         pre{{background:#f4f4f4;padding:.5rem;max-width:100%;overflow-x:auto;white-space:pre-wrap}}\
         #permissions+p+table td+td,#permissions+p+table th+th{{text-align:center;padding:.2rem .3rem}}\
         #permissions+p+table td:first-child{{overflow-wrap:anywhere;min-width:9rem}}\
         #permissions+p+table th+th{{writing-mode:vertical-rl;overflow-wrap:normal;vertical-align:bottom}}\
         .m{{font-weight:bold;text-transform:uppercase;margin-right:.5rem}}\
         @media (max-width:40rem){{body{{margin:1rem auto;padding:0 .6rem;font-size:.95rem}}h1{{font-size:1.4rem}}}}</style></head><body>",
        esc(title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p>{}</p><p>OpenAPI {} document: <a href=\"/openapi.json\">/openapi.json</a></p>",
        esc(title),
        esc(doc["info"]["description"].as_str().unwrap_or("")),
        esc(doc["openapi"].as_str().unwrap_or(""))
    );
    permission_matrix(&mut out);
    limits_section(&mut out, limits);

    out.push_str("<h2>接口 Endpoints</h2>");
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            for (method, op) in ops {
                let _ = write!(
                    out,
                    "<div class=\"op\"><h3><span class=\"m\">{}</span><code>{}</code></h3>",
                    esc(method),
                    esc(path)
                );
                if let Some(s) = op["summary"].as_str() {
                    let _ = write!(out, "<p>{}</p>", esc(s));
                }
                if let Some(d) = op["description"].as_str() {
                    let _ = write!(out, "<p><small>{}</small></p>", esc(d));
                }
                if let Some(params) = op["parameters"].as_array() {
                    out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
                    for p in params {
                        let _ = write!(
                            out,
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or("")),
                            esc(p["in"].as_str().unwrap_or("")),
                            type_of(&p["schema"]),
                            esc(p["description"].as_str().unwrap_or(""))
                        );
                    }
                    out.push_str("</table>");
                }
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for (media, body) in content {
                        let _ = write!(
                            out,
                            "<p>Request body ({}): {}</p>",
                            esc(media),
                            type_of(&body["schema"])
                        );
                        examples(&mut out, body);
                    }
                }
                if let Some(responses) = op["responses"].as_object() {
                    out.push_str(
                        "<table><tr><th>status</th><th>body</th><th>description</th></tr>",
                    );
                    for (status, response) in responses {
                        let body = response["content"]
                            .as_object()
                            .and_then(|c| c.values().next())
                            .map(|m| type_of(&m["schema"]))
                            .unwrap_or_default();
                        let _ = write!(
                            out,
                            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                            esc(status),
                            body,
                            esc(response["description"].as_str().unwrap_or(""))
                        );
                    }
                    out.push_str("</table>");
                }
                out.push_str("</div>");
            }
        }
    }

    out.push_str("<h2>数据结构 Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
}
