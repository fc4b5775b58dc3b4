//! `bangfu view household-file`: one household's file printed.

use super::*;

pub(super) async fn household_file(
    app: &App,
    id: &str,
    json: bool,
    lang: Lang,
    position: LogPosition,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let file: HouseholdFileRow = app
        .projector
        .get(id)
        .await
        .map_err(storage(lang))?
        .ok_or_else(|| not_found(lang, ViewName::HouseholdFile.label(lang), id))?;
    if json {
        return print_json(out, json!({"views_position": position, "file": file}));
    }
    let zh = lang == Lang::Zh;
    let io = io_failure;
    let h = &file.head;
    let flags: Vec<&str> = [
        (h.migrant_worker, lang.pick("农民工", "migrant worker")),
        (h.mobile_member, lang.pick("流动会员", "mobile member")),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.then_some(s))
    .collect();
    let sep = lang.pick("、", ", ");
    if zh {
        writeln!(
            out,
            "一户一档 {}：{}",
            file.file_id,
            file.status.label(lang)
        )
        .map_err(io)?;
        writeln!(
            out,
            "户主 {}（{}），手机 {}，{}，{}{}",
            h.name,
            h.resident_id_masked,
            h.phone_masked,
            h.employer_unit,
            h.grassroots_union,
            if flags.is_empty() {
                String::new()
            } else {
                format!("，{}", flags.join(sep))
            }
        )
        .map_err(io)?;
        writeln!(
            out,
            "家庭人均月收入 {} 元，当地低保标准 {} 元；致困原因：{}",
            y(file.monthly_income_per_capita_fen),
            y(file.local_minimum_standard_fen),
            file.causes
                .iter()
                .map(|c| c.label(lang))
                .collect::<Vec<_>>()
                .join(sep)
        )
        .map_err(io)?;
        writeln!(
            out,
            "建档 {}（{}）；复核 {} 次，下次复核 {}",
            file.opened_on,
            file.opened_by,
            file.reviews,
            file.next_review_on()
                .map_or("—".to_string(), |d| d.to_string())
        )
        .map_err(io)?;
    } else {
        writeln!(
            out,
            "Household file {}: {}",
            file.file_id,
            file.status.label(lang)
        )
        .map_err(io)?;
        writeln!(
            out,
            "Head {} ({}), phone {}, {}, {}{}",
            h.name,
            h.resident_id_masked,
            h.phone_masked,
            h.employer_unit,
            h.grassroots_union,
            if flags.is_empty() {
                String::new()
            } else {
                format!(", {}", flags.join(sep))
            }
        )
        .map_err(io)?;
        writeln!(
            out,
            "Income per capita {} yuan/month, local minimum {} yuan; causes: {}",
            y(file.monthly_income_per_capita_fen),
            y(file.local_minimum_standard_fen),
            file.causes
                .iter()
                .map(|c| c.label(lang))
                .collect::<Vec<_>>()
                .join(sep)
        )
        .map_err(io)?;
        writeln!(
            out,
            "Opened {} by {}; {} reviews, next review {}",
            file.opened_on,
            file.opened_by,
            file.reviews,
            file.next_review_on()
                .map_or("—".to_string(), |d| d.to_string())
        )
        .map_err(io)?;
    }
    if !file.members.is_empty() {
        let mut t = new_table(if zh {
            vec!["家庭成员", "关系", "出生年份", "健康", "就学"]
        } else {
            vec!["member", "relation", "born", "health", "schooling"]
        });
        for m in &file.members {
            t.add_row(vec![
                m.name.clone(),
                m.relation.label(lang).to_string(),
                m.birth_year.to_string(),
                m.health.label(lang).to_string(),
                m.schooling.label(lang).to_string(),
            ]);
        }
        writeln!(out, "{t}").map_err(io)?;
    }
    if !file.visits.is_empty() {
        writeln!(out, "{}", lang.pick("\n入户走访", "\nHome visits")).map_err(io)?;
        let mut t = new_table(if zh {
            vec!["日期", "编号", "类型", "走访人", "联系卡", "现场发放"]
        } else {
            vec!["date", "visit", "kind", "caseworkers", "card", "cash"]
        });
        for v in &file.visits {
            t.add_row(vec![
                v.visited_on.to_string(),
                v.visit_id.clone(),
                v.kind.label(lang).to_string(),
                v.caseworkers.join(sep),
                if v.contact_card_issued { "✓" } else { "" }.to_string(),
                v.cash_amount_fen.map(y).unwrap_or_default(),
            ]);
        }
        writeln!(out, "{t}").map_err(io)?;
    }
    if let Some(plan) = &file.plan {
        match lang {
            Lang::Zh => writeln!(out, "\n帮扶计划 第 {} 版：{}", plan.revision, plan.goal),
            Lang::En => writeln!(out, "\nPlan revision {}: {}", plan.revision, plan.goal),
        }
        .map_err(io)?;
        for r in &plan.revisions {
            let why = r
                .reason
                .clone()
                .unwrap_or_else(|| lang.pick("制定", "adopted").into());
            writeln!(
                out,
                "  v{} {} {}：{}（{} {}，{} {}）",
                r.revision,
                r.at.date_naive(),
                r.by,
                why,
                r.measures,
                lang.pick("项措施", "measures"),
                y(r.planned_fen),
                lang.pick("元", "yuan")
            )
            .map_err(io)?;
        }
        let mut t = new_table(if zh {
            vec![
                "措施",
                "类别",
                "资金来源",
                "计划",
                "已申请",
                "已批准",
                "已发放",
                "捐款拨付",
                "余额",
                "状态",
            ]
        } else {
            vec![
                "measure",
                "kind",
                "fund",
                "planned",
                "requested",
                "approved",
                "paid",
                "allocated",
                "remaining",
                "status",
            ]
        });
        for m in &plan.measures {
            t.add_row(vec![
                m.measure_id.clone(),
                m.kind.label(lang).to_string(),
                m.fund.label(lang).to_string(),
                y(m.planned_fen),
                y(m.requested_fen),
                y(m.approved_fen),
                y(m.paid_fen),
                y(m.allocated_fen),
                y(m.remaining_fen()),
                if m.completed {
                    lang.pick("已办结", "completed")
                } else {
                    lang.pick("进行中", "open")
                }
                .to_string(),
            ]);
        }
        align_right(&mut t, 3..9);
        writeln!(out, "{t}").map_err(io)?;
    }
    allocations(&file, lang, out)?;
    if !file.grants.is_empty() {
        writeln!(out, "{}", lang.pick("\n发放", "\nGrants")).map_err(io)?;
        let mut t = new_table(if zh {
            vec![
                "发放",
                "措施",
                "金额",
                "资金来源",
                "方式",
                "状态",
                "申请人",
                "审批人",
                "发放日期",
            ]
        } else {
            vec![
                "grant",
                "measure",
                "amount",
                "fund",
                "method",
                "state",
                "requested by",
                "approved by",
                "paid on",
            ]
        });
        for g in &file.grants {
            let method = if g.cash {
                lang.pick("现金", "cash").to_string()
            } else {
                format!(
                    "{} {}",
                    lang.pick("银行转账", "bank transfer"),
                    g.card_masked.clone().unwrap_or_default()
                )
            };
            t.add_row(vec![
                g.grant_id.clone(),
                g.measure_id.clone(),
                y(g.amount_fen),
                g.fund.label(lang).to_string(),
                method,
                g.state.label(lang).to_string(),
                g.requested_by.clone(),
                g.approved_by.clone().unwrap_or_default(),
                g.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
        align_right(&mut t, 2..3);
        writeln!(out, "{t}").map_err(io)?;
        let paid = file
            .grants
            .iter()
            .filter(|g| g.state == GrantState::Paid)
            .count();
        match lang {
            Lang::Zh => writeln!(out, "已发放 {paid} 笔，共 {} 元", y(file.paid_total_fen())),
            Lang::En => writeln!(out, "{paid} grants paid, {} yuan", y(file.paid_total_fen())),
        }
        .map_err(io)?;
    }
    if let Some(c) = &file.closure {
        let reason = c
            .reason
            .as_ref()
            .map(|r| r.label(lang).to_string())
            .unwrap_or_else(|| lang.pick("核查未通过", "not eligible").into());
        match lang {
            Lang::Zh => writeln!(
                out,
                "\n结档：{reason}（{}，{}）：{}",
                c.by,
                c.at.date_naive(),
                c.note
            ),
            Lang::En => writeln!(
                out,
                "\nClosed: {reason} ({}, {}): {}",
                c.by,
                c.at.date_naive(),
                c.note
            ),
        }
        .map_err(io)?;
    }
    for r in &file.reopenings {
        match lang {
            Lang::Zh => writeln!(
                out,
                "重新建档 {}（{}）：{}",
                r.at.date_naive(),
                r.by,
                r.reason
            ),
            Lang::En => writeln!(
                out,
                "Reopened {} by {}: {}",
                r.at.date_naive(),
                r.by,
                r.reason
            ),
        }
        .map_err(io)?;
    }
    footer(out, lang, position)
}

/// The donation-campaign allocations approved to the file's measures.
fn allocations(
    file: &HouseholdFileRow,
    lang: Lang,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    if file.allocations.is_empty() {
        return Ok(());
    }
    let io = io_failure;
    writeln!(out, "{}", lang.pick("\n捐款拨付", "\nAllocations")).map_err(io)?;
    let mut t = new_table(match lang {
        Lang::Zh => vec![
            "活动",
            "拨付",
            "措施",
            "金额",
            "拨入基金",
            "审批人",
            "审批日期",
        ],
        Lang::En => vec![
            "campaign",
            "allocation",
            "measure",
            "amount",
            "into fund",
            "approved by",
            "approved on",
        ],
    });
    for a in &file.allocations {
        t.add_row(vec![
            a.campaign_id.clone(),
            a.allocation_id.clone(),
            a.measure_id.clone(),
            y(a.amount_fen),
            a.fund.label(lang).to_string(),
            a.approved_by.clone(),
            a.approved_at.date_naive().to_string(),
        ]);
    }
    align_right(&mut t, 3..4);
    writeln!(out, "{t}").map_err(io)
}
