//! `bangfu view campaign`: a one-day-donation campaign printed.

use super::*;

pub(super) async fn campaign(
    app: &App,
    id: &str,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let report = campaign_report(app, id)
        .await
        .map_err(storage(lang))?
        .ok_or_else(|| not_found(lang, ViewName::Campaign.label(lang), id))?;
    if json {
        return print_json(out, json!({"views_position": position, "campaign": report}));
    }
    let io = io_failure;
    let c = &report.campaign;
    match lang {
        Lang::Zh => {
            writeln!(
                out,
                "{}（{} 年，{} 至 {}，{}）",
                c.name,
                c.year,
                c.starts_on,
                c.ends_on,
                c.status.label(lang)
            )
            .map_err(io)?;
            if let Some(name) = &c.designated_for {
                writeln!(
                    out,
                    "定向捐助：{name}（{}）",
                    c.designated_for_masked.clone().unwrap_or_default()
                )
                .map_err(io)?;
            }
            writeln!(
                out,
                "到账 {} 元（收据 {} 张；冲销 {} 笔 {} 元），净额 {} 元",
                y(c.received_fen),
                c.donations,
                c.reversals,
                y(c.reversed_fen),
                y(c.net_received_fen())
            )
            .map_err(io)?;
            writeln!(
                out,
                "捐款 {} 人 / 应参与 {} 人，参与率 {}{}",
                c.donors,
                c.headcount,
                c.participation(),
                if c.over_headcount {
                    "（注意：捐款人数超过职工人数）"
                } else {
                    ""
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "已拨付 {} 元（已批准 {} 元，待审批 {} 元；驳回 {} 元），未拨付 {} 元",
                y(c.allocated_fen()),
                y(c.approved_fen),
                y(c.pending_fen),
                y(c.rejected_fen),
                y(c.unallocated_fen())
            )
            .map_err(io)?;
        }
        Lang::En => {
            writeln!(
                out,
                "{} ({}, {} to {}, {})",
                c.name,
                c.year,
                c.starts_on,
                c.ends_on,
                c.status.label(lang)
            )
            .map_err(io)?;
            if let Some(name) = &c.designated_for {
                writeln!(
                    out,
                    "Designated for {name} ({})",
                    c.designated_for_masked.clone().unwrap_or_default()
                )
                .map_err(io)?;
            }
            writeln!(
                out,
                "Received {} yuan ({} receipts; {} reversed, {} yuan), net {} yuan",
                y(c.received_fen),
                c.donations,
                c.reversals,
                y(c.reversed_fen),
                y(c.net_received_fen())
            )
            .map_err(io)?;
            writeln!(
                out,
                "{} donors of {} staff, participation {}{}",
                c.donors,
                c.headcount,
                c.participation(),
                if c.over_headcount {
                    " (note: more donors than staff)"
                } else {
                    ""
                }
            )
            .map_err(io)?;
            writeln!(
                out,
                "Allocated {} yuan ({} approved, {} pending; {} rejected), unallocated {} yuan",
                y(c.allocated_fen()),
                y(c.approved_fen),
                y(c.pending_fen),
                y(c.rejected_fen),
                y(c.unallocated_fen())
            )
            .map_err(io)?;
        }
    }
    let mut t = new_table(match lang {
        Lang::Zh => vec![
            "单位",
            "名称",
            "职工",
            "捐款人数",
            "参与率",
            "到账",
            "冲销",
            "净额",
        ],
        Lang::En => vec![
            "unit",
            "name",
            "staff",
            "donors",
            "participation",
            "received",
            "reversed",
            "net",
        ],
    });
    for u in &report.units {
        t.add_row(vec![
            u.unit_id.clone(),
            u.name.clone(),
            u.headcount.to_string(),
            u.donors.to_string(),
            if u.over_headcount {
                format!("{} *", u.participation())
            } else {
                u.participation().to_string()
            },
            y(u.received_fen),
            y(u.reversed_fen),
            y(u.net_received_fen()),
        ]);
    }
    align_right(&mut t, 2..8);
    writeln!(out, "{t}").map_err(io)?;
    if report.units.iter().any(|u| u.over_headcount) {
        let note = lang.pick(
            "* 捐款人数超过该单位职工人数，请核对",
            "* more donors than the unit's staff: please check",
        );
        writeln!(out, "{note}").map_err(io)?;
    }
    footer(out, lang, position)
}
