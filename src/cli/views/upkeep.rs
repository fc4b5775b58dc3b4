//! `bangfu projections …`: status, rebuild and verify of the views.

use super::*;

/// `bangfu projections …`.
pub async fn projections(
    app: &App,
    command: ProjectionsCommand,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let bar = progress_bar(lang);
    let tick = |done: u64, target: u64| {
        bar.set_length(target);
        bar.set_position(done.min(target));
    };
    match command {
        ProjectionsCommand::Rebuild { view } => {
            let views: Vec<ViewName> = match view {
                Some(v) => vec![v],
                None => ViewName::ALL.to_vec(),
            };
            let stats = app
                .projector
                .rebuild(&views, &tick)
                .await
                .map_err(storage(lang))?;
            bar.finish_and_clear();
            let names: Vec<&str> = views.iter().map(|v| v.label(lang)).collect();
            match lang {
                Lang::Zh => writeln!(
                    out,
                    "✓ 已重建视图（{}）：处理事件 {} 个，写入 {} 行，视图反映事件日志至位置 {}",
                    names.join("、"),
                    stats.events,
                    stats.rows,
                    stats.position
                ),
                Lang::En => writeln!(
                    out,
                    "✓ rebuilt ({}): {} events applied, {} rows written; views reflect the log up to position {}",
                    names.join(", "),
                    stats.events,
                    stats.rows,
                    stats.position
                ),
            }
            .map_err(io_failure)
        }
        ProjectionsCommand::Verify { json } => {
            let report = app.projector.verify(&tick).await.map_err(storage(lang))?;
            bar.finish_and_clear();
            print_verify(&report, json, lang, out)?;
            if report.is_ok() {
                Ok(())
            } else {
                Err(Failure {
                    code: Some("view.differs"),
                    message: lang
                        .pick(
                            "视图与重建结果不一致，或有资金超支",
                            "the views differ from a rebuild, or a fund is overdrawn",
                        )
                        .to_string(),
                    exit: ExitKind::ViewsDiffer,
                })
            }
        }
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub(super) fn progress_bar(lang: Lang) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    let template = match lang {
        Lang::Zh => "{spinner} 重建视图 [{bar:40}] {pos}/{len} 个事件 ({per_sec}, 剩余 {eta})",
        Lang::En => "{spinner} rebuilding [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)",
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The top-level fields of two JSON documents that differ (at most five).
pub(super) fn differing_fields(live: &str, rebuilt: &str) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) = (
        serde_json::from_str::<serde_json::Value>(live),
        serde_json::from_str::<serde_json::Value>(rebuilt),
    ) else {
        return vec!["doc".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(5)
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                let s = v.map_or("—".to_string(), ToString::to_string);
                if s.chars().count() > 40 {
                    format!("{}…", s.chars().take(40).collect::<String>())
                } else {
                    s
                }
            };
            format!("{k}: {} ≠ {}", show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

pub(super) fn print_verify(
    report: &VerifyReport,
    json: bool,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let io = io_failure;
    if json {
        let rows: Vec<_> = report
            .diff
            .rows
            .iter()
            .map(|d| {
                json!({
                    "kind": d.kind, "key": d.key,
                    "live": d.live.as_ref().map(|(doc, p)| json!({"doc": doc, "position": p})),
                    "rebuilt": d.rebuilt.as_ref().map(|(doc, p)| json!({"doc": doc, "position": p})),
                })
            })
            .collect();
        return print_json(
            out,
            json!({
                "ok": report.is_ok(),
                "position": report.position,
                "events": report.events,
                "same_position": report.same_position,
                "differences": rows,
                "differences_omitted": report.diff.omitted,
                "overdrawn": report.overdrawn,
            }),
        );
    }
    match lang {
        Lang::Zh => writeln!(out, "已从位置 0 重建全部视图（{} 个事件）并与现有视图比对，位置 {}", report.events, report.position),
        Lang::En => writeln!(out, "rebuilt every view from position 0 ({} events) and compared it with the live views at position {}", report.events, report.position),
    }
    .map_err(io)?;
    if !report.same_position {
        writeln!(
            out,
            "{}",
            lang.pick(
                "  ✗ 比对期间视图位置发生变化，请重试",
                "  ✗ the views moved during the comparison; run again"
            )
        )
        .map_err(io)?;
    }
    for d in &report.diff.rows {
        let what = match (&d.live, &d.rebuilt) {
            (Some(_), None) => lang
                .pick("多余（重建中不存在）", "extra (not in the rebuild)")
                .to_string(),
            (None, Some(_)) => lang
                .pick("缺失（重建中存在）", "missing (present in the rebuild)")
                .to_string(),
            (Some((l, lp)), Some((r, rp))) => {
                let mut fields = differing_fields(l, r);
                if lp != rp {
                    fields.push(format!("position: {lp} ≠ {rp}"));
                }
                format!(
                    "{}{}",
                    lang.pick("不一致：", "differs: "),
                    fields.join("; ")
                )
            }
            (None, None) => String::new(),
        };
        writeln!(out, "  ✗ {} {}：{what}", d.kind, d.key).map_err(io)?;
    }
    if report.diff.omitted > 0 {
        match lang {
            Lang::Zh => writeln!(out, "  ……另有 {} 行不一致", report.diff.omitted),
            Lang::En => writeln!(out, "  … and {} more differing rows", report.diff.omitted),
        }
        .map_err(io)?;
    }
    for f in &report.overdrawn {
        match lang {
            Lang::Zh => writeln!(
                out,
                "  ✗ {}超支 {} 元",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
            Lang::En => writeln!(
                out,
                "  ✗ the {} is overdrawn by {} yuan",
                f.fund.label(lang),
                y(f.overdrawn_fen)
            ),
        }
        .map_err(io)?;
    }
    if report.is_ok() {
        writeln!(
            out,
            "{}",
            lang.pick(
                "✓ 视图与重建结果一致，资金无超支",
                "✓ the views equal a rebuild; no fund is overdrawn"
            )
        )
        .map_err(io)?;
    }
    Ok(())
}
